"""Web pages of the technology market, one view module per sub-domain."""

from innocommons.market.views import auctions, challenges, contracts, demands

app_name = "market"

urlpatterns = [
    *demands.urlpatterns,
    *challenges.urlpatterns,
    *auctions.urlpatterns,
    *contracts.urlpatterns,
]
