"""The technology market's models, one module per sub-domain."""

from innocommons.market.models.auctions import *  # noqa: F403
from innocommons.market.models.challenges import *  # noqa: F403
from innocommons.market.models.contracts import *  # noqa: F403
from innocommons.market.models.demands import *  # noqa: F403
