"""Technology contracts: drafts (also from auctions and challenges), submission for
registration, the registrar's decision, appeals."""

from __future__ import annotations

import secrets
from typing import Any

from django.utils import timezone

from innocommons.accounts.models import Organisation
from innocommons.core import audit
from innocommons.market.models import SUBTYPES, TechContract


def new_ref(prefix: str = "TC") -> str:
    """A contract number unique without coordination: prefix, date, random part."""
    return f"{prefix}{timezone.localdate():%Y%m%d}-{secrets.token_hex(4).upper()}"


def create_draft(
    *,
    seller: Organisation,
    buyer: Organisation,
    title: str,
    amount_fen: int,
    type: str,
    field: str,
    source: str,
    source_ref: str = "",
    subtype: str = "",
    actor: Any = None,
) -> TechContract:
    """A draft contract for the seller to complete and submit for registration.

    Auctions (a sold lot) and challenges (an award) call this inside their own
    transaction; the audit entry commits with them.
    """
    contract = TechContract.objects.create(
        ref=new_ref(),
        title=title[:300],
        type=type,
        subtype=subtype or str(SUBTYPES[type][0][0]),
        seller=seller,
        seller_name=seller.name_zh,
        seller_region=seller.region,
        buyer=buyer,
        buyer_name=buyer.name_zh,
        buyer_region=buyer.region,
        amount_fen=amount_fen,
        tech_amount_fen=amount_fen,
        field=field,
        signed_on=timezone.localdate(),
        source=source,
        source_ref=source_ref[:60],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action="market.contract.draft",
        target=contract,
        after={"source": source, "source_ref": source_ref, "amount_fen": amount_fen},
        region=seller.region,
    )
    return contract
