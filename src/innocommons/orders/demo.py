"""Demo shared use: booking calendars for the demo instruments, bookings in the coming
weeks (confirmed and awaiting approval, across regions), orders at several stages, and
ratings of the orders the voucher demo completed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from innocommons.accounts.models import Organisation
from innocommons.catalog.demo import demo_member
from innocommons.catalog.models import Resource
from innocommons.core.errors import DomainError
from innocommons.orders import services
from innocommons.orders.models import Calendar, Order, Rating

SHANGHAI = ZoneInfo("Asia/Shanghai")

# (client key, instrument ref, days ahead, start hour, hours)
BOOKINGS = [
    ("yunxiu", "demo-ins-016", 7, 9, 3),  # Shanghai firm, Nanjing University instrument
    ("yunxiu", "demo-ins-025", 8, 14, 2),  # … and a Zhejiang University one
    ("chengshi", "demo-ins-030", 9, 10, 4),  # Shanghai firm, USTC (Hefei)
    ("heyuan", "demo-ins-001", 7, 13, 2),  # Jiaxing firm, Fudan
    ("ruixi", "demo-ins-020", 10, 9, 2),  # Suzhou firm, Soochow University
    ("hongyi", "demo-ins-033", 11, 15, 2),  # Xuancheng firm, Hefei University of Technology
]

# (client key, service ref, how far the order gets)
ORDERS = [
    ("yunxiu", "demo-svc-001", "requested"),
    ("yunxiu", "demo-svc-009", "quoted"),
    ("chengshi", "demo-svc-006", "in_progress"),
    ("weigan", "demo-svc-022", "accepted"),
]


def _next_weekday(days: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def load_orders_demo(orgs: dict[str, Organisation]) -> int:
    """Create the demo calendars, bookings and orders once; return bookings created."""
    if Calendar.objects.filter(resource__ref__startswith="demo-").exists():
        return 0
    instruments = Resource.objects.filter(
        ref__startswith="demo-ins-", status="published"
    ).values_list("pk", flat=True)
    Calendar.objects.bulk_create([Calendar(resource_id=pk) for pk in instruments])
    refs = {r.ref: r for r in Resource.objects.filter(ref__startswith="demo-")}
    made = 0
    for key, ref, days, hour, hours in BOOKINGS:
        if key not in orgs or ref not in refs:
            continue
        start = _next_weekday(days, hour)
        try:
            services.book_instrument(
                actor=demo_member(orgs[key]),
                organisation_id=orgs[key].pk,
                resource_id=refs[ref].pk,
                start=start,
                end=start + timedelta(hours=hours),
                purpose="样品表征与数据分析（演示）",
            )
            made += 1
        except DomainError:
            continue  # a rule of that instrument says no: the demo goes on without it
    for key, ref, stage in ORDERS:
        if key not in orgs or ref not in refs:
            continue
        client = demo_member(orgs[key])
        provider = demo_member(refs[ref].owner)
        order = services.request_order(
            actor=client,
            client_id=orgs[key].pk,
            resource_id=refs[ref].pk,
            description="请提供检测方案与报价，样品 5 件（演示）。",
        )
        if stage == "requested":
            continue
        services.quote_order(actor=provider, order_id=order.pk, amount_fen=12_000_00)
        if stage == "quoted":
            continue
        services.accept_quote(actor=client, order_id=order.pk)
        if stage == "in_progress":
            services.start_order(actor=provider, order_id=order.pk)
    comments = ["报告专业，周期短。", "沟通顺畅，数据详实。", "价格合理，推荐。"]
    completed = Order.objects.filter(ref__startswith="DEMO-", rating__isnull=True).order_by("pk")
    Rating.objects.bulk_create(
        [
            Rating(order=order, score=5 - i % 2, comment=comments[i % len(comments)])
            for i, order in enumerate(completed)
        ]
    )
    return made
