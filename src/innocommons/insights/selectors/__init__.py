"""Reads for the statistics, one module per domain: flows (technology contracts), vouchers,
sharing (catalog and shared use) and market."""
