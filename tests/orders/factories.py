"""Builders for bookings and orders on top of tests.factories.World."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from innocommons.catalog.models import Resource
from innocommons.orders import hours, services
from innocommons.orders.models import Booking, Calendar, Order
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def day(n: int) -> date:
    """The Beijing date n days from today."""
    return hours.today() + timedelta(days=n)


def at(n: int, hhmm: str) -> datetime:
    """Beijing time on the day n days from today."""
    return datetime.combine(day(n), time.fromisoformat(hhmm), hours.TZ)


def instrument(
    world: Any,
    *,
    needs_approval: bool = False,
    min_minutes: int = 60,
    max_minutes: int = 240,
    lead_time_hours: int = 24,
    weekdays: str = "1234567",
    opens: str = "08:00",
    closes: str = "20:00",
    horizon_days: int = 60,
    max_future_per_org: int = 5,
    cancel_notice_hours: int = 24,
    **data: Any,
) -> Resource:
    """A published instrument of the world's provider with a calendar open every day."""
    data.setdefault("title_zh", "扫描电子显微镜")
    r = factories.resource(
        world.provider,
        actor=world.provider_member,
        kind="instrument",
        min_booking_minutes=min_minutes,
        max_booking_minutes=max_minutes,
        lead_time_hours=lead_time_hours,
        needs_approval=needs_approval,
        **data,
    )
    Calendar.objects.create(
        resource=r,
        weekdays=weekdays,
        opens_at=time.fromisoformat(opens),
        closes_at=time.fromisoformat(closes),
        horizon_days=horizon_days,
        max_future_per_org=max_future_per_org,
        cancel_notice_hours=cancel_notice_hours,
    )
    return Resource.objects.get(pk=r.pk)


def service(world: Any, **data: Any) -> Resource:
    data.setdefault("title_zh", "电磁兼容检测")
    data.setdefault("price_yuan", "3000")
    return factories.resource(world.provider, actor=world.provider_member, kind="service", **data)


def book(world: Any, resource: Resource, start: datetime, end: datetime, **kw: Any) -> Booking:
    kw.setdefault("actor", world.enterprise_member)
    kw.setdefault("organisation_id", world.enterprise.pk)
    return services.book_instrument(resource_id=resource.pk, start=start, end=end, **kw)


def pdf(name: str = "report.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def order(world: Any, resource: Resource | None = None, **kw: Any) -> Order:
    resource = resource or service(world)
    return services.request_order(
        actor=world.enterprise_member,
        client_id=world.enterprise.pk,
        resource_id=resource.pk,
        description=kw.pop("description", "两台样机的电磁兼容检测"),
        **kw,
    )


# How to bring a fresh order to each status: (step, by whom) in order.
ROUTE = {
    "requested": [],
    "quoted": [("quote", "provider")],
    "accepted": [("quote", "provider"), ("accept", "client")],
    "in_progress": [("quote", "provider"), ("accept", "client"), ("start", "provider")],
    "delivered": [
        ("quote", "provider"),
        ("accept", "client"),
        ("start", "provider"),
        ("deliver", "provider"),
    ],
    "completed": [
        ("quote", "provider"),
        ("accept", "client"),
        ("start", "provider"),
        ("deliver", "provider"),
        ("complete", "client"),
    ],
    "closed": [
        ("quote", "provider"),
        ("accept", "client"),
        ("start", "provider"),
        ("deliver", "provider"),
        ("complete", "client"),
        ("close", "client"),
    ],
    "declined": [("decline", "provider")],
    "cancelled": [("cancel", "client")],
}


def step(world: Any, order_id: int, name: str, who: str, **kw: Any) -> Any:
    """Take step `name` as the client's or the provider's member, with sensible inputs."""
    actor = {"client": world.enterprise_member, "provider": world.provider_member}.get(who, who)
    defaults: dict[str, dict[str, Any]] = {
        "quote": {"amount_fen": 300_000},
        "decline": {"reason": "设备检修"},
        "cancel": {"reason": "需求变化"},
        "deliver": {"report": pdf(), "service_hours": "3.5"},
        "invoice": {"invoice_no": f"INV-{order_id}"},
        "rate": {"score": 5, "comment": "很好"},
    }
    args = {**defaults.get(name, {}), **kw}
    fn = {
        "quote": services.quote_order,
        "accept": services.accept_quote,
        "decline": services.decline_order,
        "start": services.start_order,
        "deliver": services.deliver_order,
        "complete": services.complete_order,
        "close": services.close_order,
        "cancel": services.cancel_order,
        "invoice": services.set_invoice_number,
        "rate": services.rate_order,
    }[name]
    return fn(actor=actor, order_id=order_id, **args)


def order_in(world: Any, status: str, resource: Resource | None = None) -> Order:
    o = order(world, resource)
    for name, who in ROUTE[status]:
        step(world, o.pk, name, who)
    o.refresh_from_db()
    assert o.status == status
    return o
