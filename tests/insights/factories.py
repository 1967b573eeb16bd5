"""Builders for statistics tests: technology contracts in any state, written directly
(the market app's own tests cover the registration workflow that normally leads here)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from innocommons.insights import rollups
from innocommons.market.models import TechContract

_seq = itertools.count(1)

YUAN = 100
WAN = 10_000 * YUAN
YI = 100_000_000 * YUAN


def contract(
    seller: str,
    buyer: str,
    *,
    amount_fen: int,
    tech_fen: int | None = None,
    on: date = date(2025, 3, 15),
    status: str = TechContract.Status.REGISTERED,
    type: str = "transfer",
    field: str = "electronics",
    hook: bool = True,
    **extra: Any,
) -> TechContract:
    """A contract between two regions; registered ones count on `on`. The hook runs
    unless `hook=False` (tests of drift and of `stats check`)."""
    n = next(_seq)
    registered = status == TechContract.Status.REGISTERED
    tech = amount_fen if tech_fen is None else tech_fen
    c = TechContract.objects.create(
        ref=f"TEST-{n:06d}",
        title=f"测试技术合同{n}",
        type=type,
        subtype={"transfer": "patent_right", "development": "commissioned"}.get(type, type),
        seller_name=f"卖方{n}",
        seller_region_id=seller,
        buyer_name=f"买方{n}",
        buyer_region_id=buyer,
        amount_fen=amount_fen,
        tech_amount_fen=tech,
        registered_tech_amount_fen=tech if registered else None,
        field=field,
        signed_on=on,
        status=status,
        registration_no=f"REG-{n:06d}" if registered else None,
        registered_on=on if registered else None,
        **extra,
    )
    if hook:
        rollups.contract_changed(c)
    return c


def register(c: TechContract, *, on: date | None = None, tech_fen: int | None = None) -> None:
    """Register a submitted contract and call the hook, as the registration service does."""
    c.status = TechContract.Status.REGISTERED
    c.registered_on = on or c.signed_on
    c.registration_no = f"REG-{c.pk:06d}"
    c.registered_tech_amount_fen = c.tech_amount_fen if tech_fen is None else tech_fen
    c.save()
    rollups.contract_changed(c)


def refuse(c: TechContract) -> None:
    c.status = TechContract.Status.REFUSED
    c.decision_reason = "不属于技术合同"
    c.save()
    rollups.contract_changed(c)


def wipe_contracts() -> None:
    """Delete every contract row directly (no cascades: other apps' tables that point at
    contracts are not under test here)."""
    TechContract.objects.all()._raw_delete(using="default")  # type: ignore[attr-defined]
