"""URL map: the web UI, the JSON API under /api/v1/, the admin back office and i18n."""

from django.contrib import admin
from django.urls import include, path

from innocommons.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("innocommons.orders.urls")),
    path("", include("innocommons.vouchers.urls")),
    path("", include("innocommons.market.urls")),
    path("", include("innocommons.insights.urls")),
    path("", include("innocommons.web.urls")),
]
