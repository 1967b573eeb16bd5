"""Every write of the technology market, one module per sub-domain (CONVENTIONS habit 1)."""
