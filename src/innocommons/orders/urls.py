"""Web pages of the orders app."""

from __future__ import annotations

from django.urls import path

from innocommons.orders import views

app_name = "orders"

urlpatterns = [
    path("my/bookings/", views.my_bookings, name="my_bookings"),
    path("my/bookings/incoming/", views.incoming_bookings, name="incoming_bookings"),
    path("my/bookings/feed/", views.feed_address, name="feed_address"),
    path("bookings/<int:booking_id>/<slug:action>/", views.booking_action, name="booking_action"),
    path("my/orders/", views.my_orders, name="my_orders"),
    path("my/orders/incoming/", views.incoming_orders, name="incoming_orders"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("orders/<int:order_id>/report/", views.order_report, name="order_report"),
    path("orders/<int:order_id>/<slug:action>/", views.order_action, name="order_action"),
    path("resources/<int:resource_id>/book/", views.book, name="book"),
    path("resources/<int:resource_id>/order/", views.order_new, name="order_new"),
    path("resources/<int:resource_id>/calendar/", views.calendar_settings, name="calendar"),
    path("calendar/<int:org_id>.ics", views.ical_member, name="ical"),
    path("calendar/feed/<str:token>.ics", views.ical_token, name="ical_feed"),
]
