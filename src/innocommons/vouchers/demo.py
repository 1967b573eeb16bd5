"""Demo voucher programmes, one per region with DESIGN §6's defaults and their own
variants, and a season of activity through the real services: applications in every
state, vouchers, cross-region redemptions, claims and one settled quarter.

The activity is replayed at the dates it would have happened (the services read the
clock through `django.utils.timezone.now`, which the replay sets), so the settled
quarter lies in the past and the ledger's entries carry believable dates.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from innocommons.accounts.models import Organisation, User
from innocommons.catalog.demo import demo_member
from innocommons.catalog.models import Resource
from innocommons.core.errors import DomainError
from innocommons.orders.models import Order
from innocommons.vouchers import services
from innocommons.vouchers.models import Programme, Voucher

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_AGENCY_MARK = "（演示）"

# region, admin, name, agency, coverage, cap per voucher, cap per enterprise-year, scope,
# eligible categories, budget (all amounts in yuan)
PROGRAMMES: list[dict[str, Any]] = [
    {
        "region": "310000",
        "admin": "admin-sh",
        "name_zh": "上海市科技创新券",
        "name_en": "Shanghai Innovation Vouchers",
        "agency": "上海市科学技术委员会" + DEMO_AGENCY_MARK,
        "coverage_bp": 5000,
        "per_voucher": 300_000,
        "per_year": 500_000,
        "scope": "community",
        "categories": [],
        "budget": 20_000_000,
        "require_tech_sme": True,
    },
    {
        "region": "320000",
        "admin": "admin-js",
        "name_zh": "江苏省科技创新券",
        "name_en": "Jiangsu Innovation Vouchers",
        "agency": "江苏省科学技术厅" + DEMO_AGENCY_MARK,
        "coverage_bp": 4000,
        "per_voucher": 200_000,
        "per_year": 300_000,
        "scope": "own_region",
        "categories": ["testing", "rnd", "design"],
        "budget": 10_000_000,
    },
    {
        "region": "330000",
        "admin": "admin-zj",
        "name_zh": "浙江省科技创新券（长三角G60通用）",
        "name_en": "Zhejiang Innovation Vouchers (G60 corridor)",
        "agency": "浙江省科学技术厅" + DEMO_AGENCY_MARK,
        "coverage_bp": 5000,
        "per_voucher": 200_000,
        "per_year": 300_000,
        "scope": "group",
        "scope_group": "g60",
        "categories": [],
        "budget": 12_000_000,
    },
    {
        "region": "340000",
        "admin": "admin-ah",
        "name_zh": "安徽省科技创新券",
        "name_en": "Anhui Innovation Vouchers",
        "agency": "安徽省科学技术厅" + DEMO_AGENCY_MARK,
        "coverage_bp": 6000,
        "per_voucher": 150_000,
        "per_year": 200_000,
        "scope": "community",
        "categories": [],
        "budget": 8_000_000,
    },
]

# enterprise key → (amount applied for in yuan, what happens)
APPLICATIONS: dict[str, list[tuple[str, int, str]]] = {
    "310000": [("yunxiu", 200_000, "approve"), ("chengshi", 150_000, "approve_less")],
    "320000": [
        ("ruixi", 150_000, "approve"),
        ("nayan", 100_000, "reject"),
        ("xiwang", 80_000, "approve"),
    ],
    "330000": [
        ("heyuan", 150_000, "approve"),
        ("weigan", 120_000, "approve"),
        ("qinghe", 60_000, "withdraw"),
        ("chengxin", 100_000, "pending"),
    ],
    "340000": [
        ("hongyi", 100_000, "approve"),
        ("yihang", 90_000, "approve"),
        ("liangheng", 50_000, "pending"),
    ],
}

# client key → list of (provider key, fee in yuan, settled in the past quarter?)
ORDERS: dict[str, list[tuple[str, int, bool]]] = {
    "yunxiu": [("nju", 80_000, True), ("cti", 60_000, False)],
    "chengshi": [("zju", 50_000, True)],
    "ruixi": [("seu", 90_000, True), ("suda", 30_000, False)],
    "xiwang": [("jiangnan", 40_000, True)],
    "heyuan": [("sjtu", 70_000, True), ("ustc", 50_000, False)],
    "weigan": [("zju", 60_000, True)],
    "hongyi": [("fudan", 50_000, True), ("zju", 40_000, False)],
    "yihang": [("hfut", 30_000, True)],
}


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run services as if it were `moment` (only for replaying demo history)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def _service_of(provider: Organisation) -> Resource | None:
    return (
        Resource.objects.filter(owner=provider, status="published")
        .filter(Q(kind="service") | Q(kind="instrument"))
        .order_by("-kind", "pk")  # services first
        .first()
    )


def _order(client: Organisation, provider: Organisation, fee_yuan: int, n: int) -> Order | None:
    resource = _service_of(provider)
    if resource is None:
        return None
    now = timezone.now()
    return Order.objects.create(
        ref=f"DEMO-{now:%Y}-{n:04d}",
        client=client,
        provider=provider,
        resource=resource,
        requested_by=demo_member(client),
        description="演示订单：检测与技术服务",
        status=Order.Status.COMPLETED,
        quote_fen=fee_yuan * 100,
        fee_fen=fee_yuan * 100,
        invoice_no=f"INV-{provider.pk}-{n:04d}",
        service_hours=8,
        completed_at=now,
    )


def load_voucher_demo(orgs: dict[str, Organisation]) -> int:
    """Create the demo programmes and their history once; return programmes created."""
    if Programme.objects.filter(agency__endswith=DEMO_AGENCY_MARK).exists():
        return 0
    today = timezone.localdate()
    quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last_quarter = (quarter_start - timedelta(days=1)).replace(day=1)
    last_quarter = last_quarter.replace(month=(last_quarter.month - 1) // 3 * 3 + 1)
    opened = last_quarter - timedelta(days=10)
    users = {u.username: u for u in User.objects.filter(username__startswith="admin-")}
    order_no = 0
    for spec in PROGRAMMES:
        admin = users[spec["admin"]]
        with at(_moment(opened, 9)):
            programme = services.create_programme(
                actor=admin,
                data=services.ProgrammeInput(
                    region=spec["region"],
                    name_zh=spec["name_zh"],
                    name_en=spec["name_en"],
                    agency=spec["agency"],
                    coverage_bp=spec["coverage_bp"],
                    max_per_voucher_fen=spec["per_voucher"] * 100,
                    max_per_enterprise_year_fen=spec["per_year"] * 100,
                    opens_on=opened,
                    closes_on=date(today.year + 1, 12, 31),
                    budget_fen=spec["budget"] * 100,
                    scope=spec["scope"],
                    scope_group=spec.get("scope_group", ""),
                    eligible_categories=spec["categories"],
                    require_tech_sme=spec.get("require_tech_sme", False),
                    description="演示计划：按DESIGN §6 的默认规则配置。",
                ),
            )
        vouchers: dict[str, Voucher] = {}
        for key, amount, fate in APPLICATIONS[spec["region"]]:
            org = orgs[key]
            applied = _moment(opened + timedelta(days=3))
            with at(applied):
                application = services.apply_for_voucher(
                    actor=demo_member(org),
                    programme_id=programme.pk,
                    organisation_id=org.pk,
                    amount_fen=amount * 100,
                    purpose="委托第三方检测与联合研发，用于新产品验证。",
                )
            decided = _moment(opened + timedelta(days=8), 15)
            with at(decided):
                if fate == "approve":
                    vouchers[key] = services.approve_application(
                        actor=admin, application_id=application.pk
                    )
                elif fate == "approve_less":
                    vouchers[key] = services.approve_application(
                        actor=admin,
                        application_id=application.pk,
                        amount_fen=amount * 100 * 2 // 3,
                        note="按预算核减。",
                    )
                elif fate == "reject":
                    services.reject_application(
                        actor=admin,
                        application_id=application.pk,
                        reason="申报材料不完整：缺少服务合同。",
                    )
                elif fate == "withdraw":
                    services.withdraw_application(
                        actor=application.applicant, application_id=application.pk
                    )
        _redeem_and_settle(programme, admin, vouchers, orgs, last_quarter, order_no)
        order_no += 20
        if "yihang" in vouchers:
            with at(timezone.now() - timedelta(days=2)):
                services.revoke_voucher(
                    actor=admin,
                    voucher_id=vouchers["yihang"].pk,
                    reason="企业申请注销，剩余额度退回预算。",
                )
    return len(PROGRAMMES)


def _redeem_and_settle(
    programme: Programme,
    admin: User,
    vouchers: dict[str, Voucher],
    orgs: dict[str, Organisation],
    last_quarter: date,
    order_no: int,
) -> None:
    settled_day = last_quarter + timedelta(days=40)  # mid last quarter
    recent_day = timezone.localdate() - timedelta(days=5)
    providers: set[int] = set()
    for key, voucher in vouchers.items():
        for provider_key, fee, in_last_quarter in ORDERS.get(key, []):
            order_no += 1
            day = settled_day if in_last_quarter else recent_day
            with at(_moment(day, 11)):
                order = _order(orgs[key], orgs[provider_key], fee, order_no)
                if order is None:
                    continue
                try:
                    services.redeem_voucher(
                        actor=demo_member(orgs[key]), voucher=voucher.pk, order_id=order.pk
                    )
                except DomainError:
                    continue  # out of scope or category for this programme: no subsidy
            if in_last_quarter:
                providers.add(orgs[provider_key].pk)
    claim_day = _moment(settled_day + timedelta(days=10), 10)
    for provider_id in sorted(providers):
        provider = Organisation.objects.get(pk=provider_id)
        with at(claim_day):
            try:
                claim = services.submit_claim(
                    actor=demo_member(provider), provider_id=provider_id, programme_id=programme.pk
                )
            except DomainError:
                continue
        with at(claim_day + timedelta(days=3)):
            services.approve_claim(actor=admin, claim_id=claim.pk)
    quarter_end = last_quarter.replace(month=last_quarter.month + 2)
    pay_day = min(_moment(quarter_end + timedelta(days=40), 16), timezone.now() - timedelta(days=1))
    with at(pay_day):
        try:
            batch = services.create_batch(actor=admin, programme_id=programme.pk, day=last_quarter)
        except DomainError:
            return
        services.pay_batch(
            actor=admin, batch_id=batch.pk, payment_reference=f"DEMO-PAY-{programme.pk:03d}"
        )
    # A claim of this quarter waits for review, so the queue is not empty.
    for key in vouchers:
        for provider_key, _fee, in_last_quarter in ORDERS.get(key, []):
            if not in_last_quarter:
                provider = orgs[provider_key]
                with contextlib.suppress(DomainError):
                    services.submit_claim(
                        actor=demo_member(provider),
                        provider_id=provider.pk,
                        programme_id=programme.pk,
                    )
