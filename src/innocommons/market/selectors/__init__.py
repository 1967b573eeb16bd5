"""Every read of the technology market, filtered by what the user may see; one module per
sub-domain (CONVENTIONS habit 1)."""
