"""Web pages of the statistics: the public page, the dashboard, downloads, annual report."""

from __future__ import annotations

from django.urls import path

from innocommons.insights import views

app_name = "insights"

urlpatterns = [
    path("stats/", views.stats, name="stats"),
    path("stats/admin/", views.dashboard, name="dashboard"),
    path("stats/export/<slug:key>.<str:fmt>", views.export, name="export"),
    path("reports/annual/", views.annual_latest, name="annual_latest"),
    path("reports/annual/<int:year>", views.annual, name="annual"),
    path("reports/annual/<int:year>/", views.annual),
]
