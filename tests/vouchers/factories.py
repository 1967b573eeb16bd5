"""Builders for voucher tests: programmes, vouchers and completed orders to redeem against."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from innocommons.accounts.models import Organisation, User
from innocommons.catalog.models import Term
from innocommons.orders.models import Order
from innocommons.vouchers import services
from innocommons.vouchers.models import Programme, Voucher
from tests import factories as f

_seq = itertools.count(1)


def regional_admin(region: str = "310000") -> User:
    u = f.user(f"adm_{region}_{next(_seq)}")
    f.staff(u, "regional_admin", region)
    return u


def programme(
    admin: User,
    *,
    region: str = "310000",
    budget_fen: int = 10_000_000_00,
    **overrides: Any,
) -> Programme:
    today = timezone.localdate()
    data: dict[str, Any] = {
        "region": region,
        "name_zh": f"测试创新券计划{next(_seq)}",
        "budget_fen": budget_fen,
        "coverage_bp": 5000,
        "max_per_voucher_fen": 200_000_00,
        "max_per_enterprise_year_fen": 500_000_00,
        "opens_on": today - timedelta(days=30),
        "closes_on": today + timedelta(days=300),
    }
    data.update(overrides)
    return services.create_programme(actor=admin, data=services.ProgrammeInput(**data))


def member_of(org: Organisation) -> User:
    u = f.user()
    f.member(u, org)
    return u


def voucher(prog: Programme, org: Organisation, amount_fen: int, admin: User) -> Voucher:
    """Apply for and approve a voucher in one go."""
    application = services.apply_for_voucher(
        actor=member_of(org),
        programme_id=prog.pk,
        organisation_id=org.pk,
        amount_fen=amount_fen,
        purpose="检测服务",
    )
    return services.approve_application(actor=admin, application_id=application.pk)


def completed_order(
    client: Organisation,
    provider: Organisation,
    *,
    fee_fen: int = 100_000_00,
    category: str = "",
    status: str = Order.Status.COMPLETED,
) -> Order:
    """A completed service order, written directly (the orders app's own tests cover
    the state machine that normally leads here)."""
    data: dict[str, Any] = {"title_zh": f"检测服务{next(_seq)}"}
    resource = f.resource(provider, kind="service", **data)
    if category:
        term = Term.objects.get(scheme=Term.Scheme.SERVICE_CATEGORY, code=category)
        resource.service.category = term
        resource.service.save()
    return Order.objects.create(
        ref=f"T{next(_seq):08d}",
        client=client,
        provider=provider,
        resource=resource,
        status=status,
        quote_fen=fee_fen,
        fee_fen=fee_fen,
        completed_at=timezone.now(),
    )


def year_start() -> date:
    return date(timezone.localdate().year, 1, 1)
