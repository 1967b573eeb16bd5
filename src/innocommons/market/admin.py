"""Back office of the technology market: one module per sub-domain registers its models."""

from innocommons.market import (
    admin_auctions,  # noqa: F401
    admin_contracts,  # noqa: F401
    admin_demands,  # noqa: F401
)
