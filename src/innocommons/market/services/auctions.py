"""Technology auctions: sessions, lots, bidders' registrations and deposits, the hammer,
signing the sale confirmation, defaults and re-offers. Bidding, the hot path, is in
`bidding` (re-exported here: `place_bid`, `staff_problem`, `outbid_message`).

Rules (DESIGN §6, Auction Law):
- the platform operator announces a session at least `ANNOUNCE_DAYS` before it opens, with
  a viewing period of at least `VIEWING_DAYS` that ends before it opens;
- members of a verified organisation offer its published achievements as lots before the
  session opens; the operator approves (or rejects) each lot;
- organisations register for a session and the operator records their deposit; only then
  may their members bid, and only on lots whose deposit the recorded one covers;
- neither the seller (its members, or an organisation declared related to it) nor the
  auctioneer (operators; auditors are read-only) bids;
- a bid is the current high bid (the starting price for the first bid) plus a whole
  positive multiple of the increment (the first bid: k ≥ 0), and cannot be withdrawn;
  a bid in the last N minutes moves the end to now + N minutes, never past the hard end;
- at the end the lot closes once: sold to the high bidder when the bid meets the
  confidential reserve (a sale confirmation and a draft transfer contract), else unsold;
- the winner signs the confirmation within the session's `sign_days` or defaults: its
  deposit is forfeited and the lot may be re-offered in a later session; when a session
  is over, the deposits of those who won nothing are marked for refund.

Concurrency: a bid is written by one conditional UPDATE of the lot (see `bidding`).
Closing is a conditional UPDATE on the status and the bids seen, so the scheduled job, a
lazy close on read and a bid finding the lot past its end cannot both close a lot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation, User
from innocommons.catalog.models import Kind, Resource
from innocommons.catalog.models import Status as ResourceStatus
from innocommons.core import audit, notify
from innocommons.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from innocommons.core.money import format_yuan
from innocommons.market.models import (
    ANNOUNCE_DAYS,
    CATALOG_TO_CONTRACT_FIELD,
    SIGN_DAYS_DEFAULT,
    SOFT_CLOSE_DEFAULT,
    VIEWING_DAYS,
    AuctionLot,
    AuctionRegistration,
    AuctionSession,
    ContractField,
    ContractType,
    TechContract,
)
from innocommons.market.services.bidding import MAX_FEN, RETRIES, is_amount, local_minute
from innocommons.market.services.bidding import outbid_message as outbid_message
from innocommons.market.services.bidding import place_bid as place_bid
from innocommons.market.services.bidding import staff_problem as staff_problem
from innocommons.market.services.contracts import create_draft

log = logging.getLogger(__name__)

MAX_TEXT = 3000
MIN_BIDDING = timedelta(minutes=10)
MAX_EXTENSION = timedelta(hours=24)  # the hard end at most this long after the scheduled end
MAX_SOFT_CLOSE = 60  # minutes

Status = AuctionLot.Status
Deposit = AuctionRegistration.Deposit


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _members(org_ids: list[int]) -> list[User]:
    return list(User.objects.filter(memberships__organisation_id__in=org_ids).distinct())


def bidder_label(number: int) -> str:
    """How the public sees a bidder: by its number in the session, never its name."""
    return _("Bidder %(n)s") % {"n": number}


def _require_operator(actor: Any) -> None:
    if not perms.is_operator(actor):
        raise PermissionDenied(_("Only the platform operator runs auctions."))


def get_session(session_id: int, *, lock: bool = False) -> AuctionSession:
    qs = AuctionSession.objects.all()
    if lock:
        qs = qs.select_for_update(no_key=True)
    try:
        return qs.get(pk=session_id)
    except (AuctionSession.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such auction session.")) from None


def get_lot(lot_id: int) -> AuctionLot:
    try:
        return AuctionLot.objects.select_related("session", "seller__region").get(pk=lot_id)
    except (AuctionLot.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such lot.")) from None


# --- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInput:
    """An auction session as the operator announces it."""

    title: str
    announcement: str
    viewing_starts_at: datetime
    viewing_ends_at: datetime
    starts_at: datetime
    title_en: str = ""
    viewing_place: str = ""
    sign_days: int = SIGN_DAYS_DEFAULT


def validate_session(data: SessionInput, now: datetime) -> SessionInput:
    """Every rule on a session's text and timeline; all problems at once."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    title, announcement = (data.title or "").strip(), (data.announcement or "").strip()
    if not title or len(title) > 200:
        bad("title", _("Give the session a title (at most 200 characters)."))
    if len(data.title_en or "") > 200:
        bad("title_en", _("At most 200 characters."))
    if not announcement or len(announcement) > 10_000:
        bad("announcement", _("Write the announcement (at most 10,000 characters)."))
    if len(data.viewing_place or "") > 300:
        bad("viewing_place", _("At most 300 characters."))
    if not is_amount(data.sign_days) or not 1 <= data.sign_days <= 90:
        bad("sign_days", _("The winner signs within 1 to 90 days."))
    starts = _aware(data.starts_at)
    v_from, v_until = _aware(data.viewing_starts_at), _aware(data.viewing_ends_at)
    earliest = now + timedelta(days=ANNOUNCE_DAYS)
    if starts < earliest:
        bad(
            "starts_at",
            _(
                "Announce an auction at least %(days)s days before it opens: "
                "open on %(earliest)s or later."
            )
            % {"days": ANNOUNCE_DAYS, "earliest": local_minute(earliest)},
        )
    if v_from < now:
        bad("viewing_starts_at", _("The viewing cannot start in the past."))
    if v_until - v_from < timedelta(days=VIEWING_DAYS):
        bad(
            "viewing_ends_at",
            _("The viewing lasts at least %(days)s days.") % {"days": VIEWING_DAYS},
        )
    elif v_until > starts:
        bad("viewing_ends_at", _("The viewing ends before the auction opens."))
    if errors:
        raise ValidationFailed(errors)
    return SessionInput(
        title=title,
        announcement=announcement,
        viewing_starts_at=v_from,
        viewing_ends_at=v_until,
        starts_at=starts,
        title_en=(data.title_en or "").strip(),
        viewing_place=(data.viewing_place or "").strip(),
        sign_days=data.sign_days,
    )


def create_session(*, actor: Any, data: SessionInput) -> AuctionSession:
    """The operator announces an auction session."""
    _require_operator(actor)
    now = timezone.now()
    clean = validate_session(data, now)
    with transaction.atomic(durable=True):
        session = AuctionSession.objects.create(
            title=clean.title,
            title_en=clean.title_en,
            announcement=clean.announcement,
            viewing_place=clean.viewing_place,
            announced_at=now,
            viewing_starts_at=clean.viewing_starts_at,
            viewing_ends_at=clean.viewing_ends_at,
            starts_at=clean.starts_at,
            sign_days=clean.sign_days,
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action="market.auction.session.create",
            target=session,
            after={
                "title": session.title,
                "starts_at": session.starts_at.isoformat(),
                "viewing": [
                    session.viewing_starts_at.isoformat(),
                    session.viewing_ends_at.isoformat(),
                ],
                "sign_days": session.sign_days,
            },
        )
    return session


# --- lots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotInput:
    """A lot as its seller offers it. Amounts in fen; `field` empty: from the catalog."""

    resource_id: int
    starting_price_fen: int
    increment_fen: int
    starts_at: datetime
    scheduled_end_at: datetime
    hard_end_at: datetime
    reserve_fen: int | None = None
    deposit_fen: int = 0
    soft_close_minutes: int = SOFT_CLOSE_DEFAULT
    field: str = ""
    terms: str = ""


def _money_problem(value: Any, *, allow_zero: bool) -> bool:
    return not is_amount(value) or value < (0 if allow_zero else 1) or value > MAX_FEN


def contract_field_for(resource: Resource) -> str:
    """The statistics field of a sold lot's contract, from the catalog's field."""
    code = resource.field.code[:2] if resource.field_id and resource.field else ""
    return CATALOG_TO_CONTRACT_FIELD.get(code, "")


def validate_lot(data: LotInput, session: AuctionSession, resource: Resource) -> LotInput:
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if _money_problem(data.starting_price_fen, allow_zero=False):
        bad("starting_price_fen", _("Give a starting price above zero."))
    if _money_problem(data.increment_fen, allow_zero=False):
        bad("increment_fen", _("Give an increment above zero."))
    if data.reserve_fen is not None and _money_problem(data.reserve_fen, allow_zero=True):
        bad("reserve_fen", _("The reserve is an amount of zero or more, or empty for none."))
    if _money_problem(data.deposit_fen, allow_zero=True):
        bad("deposit_fen", _("The deposit is an amount of zero or more."))
    if not is_amount(data.soft_close_minutes) or not 1 <= data.soft_close_minutes <= MAX_SOFT_CLOSE:
        bad(
            "soft_close_minutes",
            _("The soft-close window is 1 to %(max)s minutes.") % {"max": MAX_SOFT_CLOSE},
        )
    field = data.field or contract_field_for(resource)
    if field not in ContractField.values:
        bad("field", _("Choose the technology field the contract will be counted under."))
    if len(data.terms or "") > MAX_TEXT:
        bad("terms", _("At most 3,000 characters."))
    starts, end, hard = (
        _aware(data.starts_at),
        _aware(data.scheduled_end_at),
        _aware(data.hard_end_at),
    )
    if starts < session.starts_at:
        bad(
            "starts_at",
            _("Bidding opens when the session opens (%(when)s) or later.")
            % {"when": local_minute(session.starts_at)},
        )
    if end - starts < MIN_BIDDING:
        bad("scheduled_end_at", _("Bidding lasts at least 10 minutes."))
    if hard < end:
        bad("hard_end_at", _("The hard end is at or after the scheduled end."))
    elif hard - end > MAX_EXTENSION:
        bad("hard_end_at", _("The hard end is at most 24 hours after the scheduled end."))
    if errors:
        raise ValidationFailed(errors)
    return LotInput(
        resource_id=resource.pk,
        starting_price_fen=data.starting_price_fen,
        increment_fen=data.increment_fen,
        starts_at=starts,
        scheduled_end_at=end,
        hard_end_at=hard,
        reserve_fen=data.reserve_fen,
        deposit_fen=data.deposit_fen,
        soft_close_minutes=data.soft_close_minutes,
        field=field,
        terms=(data.terms or "").strip(),
    )


def _offerable(resource_id: int) -> Resource:
    resource = (
        Resource.objects.select_related("owner__region", "field").filter(pk=resource_id).first()
    )
    if resource is None or resource.kind != Kind.ACHIEVEMENT:
        raise DomainError(_("Choose one of your organisation's achievements."), field="resource")
    if resource.status != ResourceStatus.PUBLISHED:
        raise DomainError(_("Publish the achievement before offering it."), field="resource")
    if not resource.owner.is_verified:
        raise PermissionDenied(
            _("Only verified organisations offer lots at auction."), field="resource"
        )
    return resource


def _create_lot(
    actor: Any,
    session_id: int,
    data: LotInput,
    resource: Resource,
    *,
    reoffer_of: AuctionLot | None = None,
) -> AuctionLot:
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            # The session row is the lock that hands out lot numbers one at a time.
            session = get_session(session_id, lock=True)
            if now >= session.starts_at:
                raise DomainError(
                    _("Lots are added before the session opens."), field="session", status=409
                )
            clean = validate_lot(data, session, resource)
            if AuctionLot.objects.filter(resource=resource, status__in=AuctionLot.LIVE).exists():
                raise DomainError(
                    _("This achievement is already offered at auction."),
                    field="resource",
                    status=409,
                )
            last = session.lots.order_by("-number").values_list("number", flat=True).first()
            lot = AuctionLot.objects.create(
                session=session,
                number=(last or 0) + 1,
                resource=resource,
                seller=resource.owner,
                title=resource.title_zh[:200],
                field=clean.field,
                terms=clean.terms,
                starting_price_fen=clean.starting_price_fen,
                increment_fen=clean.increment_fen,
                reserve_fen=clean.reserve_fen,
                deposit_fen=clean.deposit_fen,
                starts_at=clean.starts_at,
                scheduled_end_at=clean.scheduled_end_at,
                ends_at=clean.scheduled_end_at,
                hard_end_at=clean.hard_end_at,
                soft_close_minutes=clean.soft_close_minutes,
                reoffer_of=reoffer_of,
                created_by=actor,
            )
            audit.record(
                actor=actor,
                action="market.auction.lot.reoffer" if reoffer_of else "market.auction.lot.offer",
                target=lot,
                after={
                    "session": session.pk,
                    "resource": resource.pk,
                    "starting_price_fen": lot.starting_price_fen,
                    "increment_fen": lot.increment_fen,
                    "reserve_fen": lot.reserve_fen,
                    "deposit_fen": lot.deposit_fen,
                    "starts_at": lot.starts_at.isoformat(),
                    "scheduled_end_at": lot.scheduled_end_at.isoformat(),
                    "hard_end_at": lot.hard_end_at.isoformat(),
                    "soft_close_minutes": lot.soft_close_minutes,
                    "reoffer_of": reoffer_of.pk if reoffer_of else None,
                },
                region=resource.owner.region,
            )
    except IntegrityError:
        # Two offers of one achievement raced past the check: the partial unique index
        # (one live lot per achievement) stopped the second.
        if AuctionLot.objects.filter(resource=resource, status__in=AuctionLot.LIVE).exists():
            raise DomainError(
                _("This achievement is already offered at auction."), field="resource", status=409
            ) from None
        raise
    return lot


def offer_lot(*, actor: Any, session_id: int, data: LotInput) -> AuctionLot:
    """A member of the owning organisation offers one of its achievements in a session.
    The lot waits for the operator's approval."""
    resource = _offerable(data.resource_id)
    if not perms.is_member(actor, resource.owner_id):
        raise PermissionDenied(
            _("Only members of the organisation that owns the achievement offer it."),
            field="resource",
        )
    return _create_lot(actor, session_id, data, resource)


def _decide_lot(actor: Any, lot_id: int, *, approve: bool, reason: str) -> AuctionLot:
    _require_operator(actor)
    reason = (reason or "").strip()
    if not approve and (not reason or len(reason) > MAX_TEXT):
        raise DomainError(
            _("Give the reason for the rejection (at most 3,000 characters)."), field="reason"
        )
    lot = get_lot(lot_id)
    now = timezone.now()
    if approve and now >= lot.starts_at:
        raise DomainError(
            _("Bidding was due to open already; re-offer the lot in a later session."),
            status=409,
        )
    new = Status.OPEN if approve else Status.REJECTED
    with transaction.atomic(durable=True):
        rows = AuctionLot.objects.filter(pk=lot.pk, status=Status.PENDING)
        changes: dict[str, Any] = {"status": new, "decision_reason": reason[:MAX_TEXT]}
        if approve:
            changes.update(approved_by=actor, approved_at=now)
        if rows.update(**changes) != 1:
            raise DomainError(_("The lot is not awaiting approval."), status=409)
        audit.record(
            actor=actor,
            action="market.auction.lot.approve" if approve else "market.auction.lot.reject",
            target=lot,
            before={"status": Status.PENDING},
            after={"status": new},
            region=lot.seller.region,
            note=reason[:500],
        )
        notify.notify(
            _members([lot.seller_id]),
            kind="market.auction.lot.decided",
            title=(
                _("Lot %(no)s is approved for auction") if approve else _("Lot %(no)s was rejected")
            )
            % {"no": f"{lot.session_id}-{lot.number}"},
            body=reason,
            link=f"/market/auctions/lots/{lot.pk}/",
        )
    lot.refresh_from_db()
    return lot


def approve_lot(*, actor: Any, lot_id: int, note: str = "") -> AuctionLot:
    """The operator admits a pending lot to the auction."""
    return _decide_lot(actor, lot_id, approve=True, reason=note)


def reject_lot(*, actor: Any, lot_id: int, reason: str) -> AuctionLot:
    """The operator refuses a pending lot, with reasons."""
    return _decide_lot(actor, lot_id, approve=False, reason=reason)


def reoffer_lot(
    *,
    actor: Any,
    lot_id: int,
    session_id: int,
    starting_price_fen: int | None = None,
) -> AuctionLot:
    """Offer an unsold or defaulted lot again, in a session that has not opened yet: the
    same achievement and terms, the same bidding duration from the new session's opening,
    optionally a new starting price. The new lot waits for approval like any other."""
    old = get_lot(lot_id)
    if not (perms.is_member(actor, old.seller_id) or perms.is_operator(actor)):
        raise PermissionDenied(_("Only the seller or the operator re-offers a lot."))
    if old.status not in (Status.UNSOLD, Status.DEFAULTED):
        raise DomainError(_("Only an unsold or defaulted lot can be re-offered."), status=409)
    if AuctionLot.objects.filter(reoffer_of=old).exists():
        raise DomainError(_("This lot has already been re-offered."), status=409)
    resource = _offerable(old.resource_id)
    if resource.owner_id != old.seller_id:
        raise DomainError(_("The achievement has changed hands."), field="resource", status=409)
    session = get_session(session_id)
    starts = max(session.starts_at, old.starts_at - old.session.starts_at + session.starts_at)
    end = starts + (old.scheduled_end_at - old.starts_at)
    data = LotInput(
        resource_id=resource.pk,
        starting_price_fen=old.starting_price_fen
        if starting_price_fen is None
        else starting_price_fen,
        increment_fen=old.increment_fen,
        reserve_fen=old.reserve_fen,
        deposit_fen=old.deposit_fen,
        starts_at=starts,
        scheduled_end_at=end,
        hard_end_at=end + (old.hard_end_at - old.scheduled_end_at),
        soft_close_minutes=old.soft_close_minutes,
        field=old.field,
        terms=old.terms,
    )
    try:
        return _create_lot(actor, session.pk, data, resource, reoffer_of=old)
    except IntegrityError:
        raise DomainError(_("This lot has already been re-offered."), status=409) from None


# --- bidders and deposits ---------------------------------------------------------------


def session_over(session: AuctionSession, now: datetime) -> bool:
    """Opened, and no approved lot is still to be auctioned."""
    return (
        now >= session.starts_at
        and not AuctionLot.objects.filter(session=session, status=Status.OPEN).exists()
    )


def register_bidder(*, actor: Any, session_id: int, organisation_id: int) -> AuctionRegistration:
    """A member registers its verified organisation to bid in a session. The operator
    then records its deposit."""
    problem = staff_problem(actor)
    if problem:
        raise PermissionDenied(problem)
    if not perms.is_member(actor, organisation_id):
        raise PermissionDenied(
            _("Register an organisation you are a member of."), field="organisation"
        )
    org = Organisation.objects.select_related("region").filter(pk=organisation_id).first()
    if org is None or not org.is_verified:
        raise PermissionDenied(
            _("Only verified organisations may bid at auction."), field="organisation"
        )
    now = timezone.now()
    with transaction.atomic(durable=True):
        # The session row is the lock that hands out bidder numbers one at a time.
        session = get_session(session_id, lock=True)
        if session_over(session, now):
            raise DomainError(_("This auction session is over."), status=409)
        existing = session.registrations.filter(organisation=org).first()
        if existing is not None:
            raise DomainError(
                _("%(org)s is already registered as %(bidder)s.")
                % {"org": org.name, "bidder": bidder_label(existing.number)},
                field="organisation",
                status=409,
            )
        last = session.registrations.order_by("-number").values_list("number", flat=True).first()
        registration = AuctionRegistration.objects.create(
            session=session,
            organisation=org,
            number=(last or 0) + 1,
            registered_by=actor,
            registered_at=now,
        )
        audit.record(
            actor=actor,
            action="market.auction.register",
            target=registration,
            after={"session": session.pk, "organisation": org.pk, "number": registration.number},
            region=org.region,
        )
    return registration


def _registration(registration_id: int) -> AuctionRegistration:
    found = (
        AuctionRegistration.objects.select_related("organisation__region", "session")
        .filter(pk=registration_id)
        .first()
        if is_amount(registration_id)
        else None
    )
    if found is None:
        raise NotFound(_("No such registration."))
    return found


def record_deposit(
    *, actor: Any, registration_id: int, amount_fen: int, reference: str = ""
) -> AuctionRegistration:
    """The operator records the deposit a registered bidder lodged."""
    _require_operator(actor)
    if _money_problem(amount_fen, allow_zero=False):
        raise DomainError(_("Give the deposit received, above zero."), field="amount_fen")
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise DomainError(_("At most 100 characters."), field="reference")
    registration = _registration(registration_id)
    now = timezone.now()
    with transaction.atomic(durable=True):
        updated = AuctionRegistration.objects.filter(
            pk=registration.pk, deposit_status=Deposit.NONE
        ).update(
            deposit_status=Deposit.HELD,
            deposit_fen=amount_fen,
            deposit_reference=reference,
            deposit_recorded_at=now,
            deposit_recorded_by=actor,
        )
        if updated != 1:
            raise DomainError(_("A deposit is already recorded for this bidder."), status=409)
        audit.record(
            actor=actor,
            action="market.auction.deposit.record",
            target=registration,
            before={"deposit_status": Deposit.NONE},
            after={"deposit_status": Deposit.HELD, "deposit_fen": amount_fen},
            region=registration.organisation.region,
            note=reference,
        )
    registration.refresh_from_db()
    return registration


def record_refund(*, actor: Any, registration_id: int, reference: str = "") -> AuctionRegistration:
    """The operator records that a deposit marked for refund was paid back."""
    _require_operator(actor)
    registration = _registration(registration_id)
    now = timezone.now()
    with transaction.atomic(durable=True):
        updated = AuctionRegistration.objects.filter(
            pk=registration.pk, deposit_status=Deposit.REFUND_DUE
        ).update(deposit_status=Deposit.REFUNDED, settled_at=now)
        if updated != 1:
            raise DomainError(_("This deposit is not due for refund."), status=409)
        audit.record(
            actor=actor,
            action="market.auction.deposit.refunded",
            target=registration,
            before={"deposit_status": Deposit.REFUND_DUE},
            after={"deposit_status": Deposit.REFUNDED, "deposit_fen": registration.deposit_fen},
            region=registration.organisation.region,
            note=(reference or "")[:500],
        )
    registration.refresh_from_db()
    return registration


def _settle_deposits(session_id: int, now: datetime) -> None:
    """Once no lot of the session is left to auction: the deposits of bidders who won
    nothing become due for refund, a winner's that signed every confirmation is applied
    to the price. (Forfeits are made by `mark_defaults`.) Call inside a transaction."""
    get_session(session_id, lock=True)  # one settlement of a session at a time
    if AuctionLot.objects.filter(session_id=session_id, status=Status.OPEN).exists():
        return
    held = list(
        AuctionRegistration.objects.filter(
            session_id=session_id, deposit_status=Deposit.HELD
        ).select_related("organisation__region")
    )
    if not held:
        return
    wins: dict[int, list[tuple[str, bool]]] = {}
    for winner_id, status, confirmed_at in AuctionLot.objects.filter(
        session_id=session_id, winner__isnull=False
    ).values_list("winner_id", "status", "confirmed_at"):
        wins.setdefault(winner_id, []).append((status, confirmed_at is not None))
    for registration in held:
        won = wins.get(registration.organisation_id, [])
        if not won:
            new = Deposit.REFUND_DUE
        elif any(status == Status.DEFAULTED for status, _signed in won):
            new = Deposit.FORFEITED
        elif all(signed for _status, signed in won):
            new = Deposit.APPLIED
        else:
            continue  # a confirmation still awaits the winner's signature
        updated = AuctionRegistration.objects.filter(
            pk=registration.pk, deposit_status=Deposit.HELD
        ).update(deposit_status=new, settled_at=now)
        if updated == 1:
            audit.record(
                actor=None,
                action=f"market.auction.deposit.{new}",
                target=registration,
                before={"deposit_status": Deposit.HELD},
                after={"deposit_status": new, "deposit_fen": registration.deposit_fen},
                region=registration.organisation.region,
            )


# --- the hammer ---------------------------------------------------------------------------


def close_lot(*, lot_id: int, via: str = "job") -> bool:
    """Close the lot if its end has passed: sold to the high bidder when the high bid meets
    the reserve (a draft contract is made), else unsold. Returns whether this call closed
    it; of concurrent callers (the job, lazy closes on read) exactly one does."""
    for _attempt in range(RETRIES):
        lot = get_lot(lot_id)
        now = timezone.now()
        if lot.status != Status.OPEN or lot.ends_at > now:
            return False
        sold = lot.bid_count > 0 and (
            lot.reserve_fen is None or lot.high_bid_fen >= lot.reserve_fen
        )
        changes: dict[str, Any] = {
            "status": Status.SOLD if sold else Status.UNSOLD,
            "closed_at": now,
        }
        if sold:
            changes.update(
                winner_id=lot.high_bidder_id,
                hammer_fen=lot.high_bid_fen,
                sign_by=now + timedelta(days=lot.session.sign_days),
            )
        with transaction.atomic(durable=True):
            # Conditional on the bids seen: a bid that slipped in before the end is counted.
            updated = AuctionLot.objects.filter(
                pk=lot.pk, status=Status.OPEN, ends_at__lte=now, bid_count=lot.bid_count
            ).update(**changes)
            if updated != 1:
                continue
            contract = None
            if sold:
                assert lot.high_bidder_id is not None  # sold means there was a high bid
                winner = Organisation.objects.select_related("region").get(pk=lot.high_bidder_id)
                contract = create_draft(
                    seller=lot.seller,
                    buyer=winner,
                    title=lot.title,
                    amount_fen=lot.high_bid_fen,
                    type=ContractType.TRANSFER,
                    field=lot.field,
                    source=TechContract.Source.AUCTION,
                    source_ref=f"lot:{lot.pk}",
                    actor=None,
                )
                AuctionLot.objects.filter(pk=lot.pk).update(contract=contract)
            audit.record(
                actor=None,
                action="market.auction.lot.close",
                target=lot,
                before={"status": Status.OPEN},
                after={
                    "status": changes["status"],
                    "bids": lot.bid_count,
                    "high_bid_fen": lot.high_bid_fen,
                    "reserve_met": sold,
                    "winner": lot.high_bidder_id if sold else None,
                    "contract": contract.pk if contract else None,
                },
                region=lot.seller.region,
                note=via,
            )
            _notify_close(lot, sold, changes.get("sign_by"))
            _settle_deposits(lot.session_id, now)
        return True
    return False


def _notify_close(lot: AuctionLot, sold: bool, sign_by: datetime | None) -> None:
    link = f"/market/auctions/lots/{lot.pk}/"
    no = f"{lot.session_id}-{lot.number}"
    if sold:
        assert sign_by is not None and lot.high_bidder_id is not None
        notify.notify(
            _members([lot.high_bidder_id]),
            kind="market.auction.won",
            title=_("You won lot %(no)s at %(price)s")
            % {"no": no, "price": format_yuan(lot.high_bid_fen)},
            body=_("Sign the sale confirmation by %(when)s, or the deposit is forfeited.")
            % {"when": local_minute(sign_by)},
            link=f"{link}confirmation/",
        )
    notify.notify(
        _members([lot.seller_id]),
        kind="market.auction.closed",
        title=(_("Lot %(no)s sold at %(price)s") if sold else _("Lot %(no)s closed unsold"))
        % {"no": no, "price": format_yuan(lot.high_bid_fen)},
        link=link,
    )


def close_due_lots() -> int:
    """Close every lot whose end has passed (the periodic job). Returns how many closed."""
    due = AuctionLot.objects.filter(status=Status.OPEN, ends_at__lte=timezone.now())
    closed = 0
    for lot_id in due.order_by("ends_at").values_list("pk", flat=True):
        try:
            closed += close_lot(lot_id=lot_id, via="job")
        except Exception:  # one bad lot must not stop the others from closing
            log.exception("auctions: closing lot %s failed", lot_id)
    return closed


def sign_confirmation(*, actor: Any, lot_id: int) -> AuctionLot:
    """The winner signs the sale confirmation (成交确认书) before its deadline."""
    lot = get_lot(lot_id)
    if lot.winner_id is None or not perms.is_member(actor, lot.winner_id):
        raise PermissionDenied(_("Only the winning bidder signs the sale confirmation."))
    if lot.status != Status.SOLD or lot.confirmed_at is not None:
        raise DomainError(_("There is no confirmation to sign on this lot."), status=409)
    now = timezone.now()
    with transaction.atomic(durable=True):
        updated = AuctionLot.objects.filter(
            pk=lot.pk, status=Status.SOLD, confirmed_at__isnull=True, sign_by__gte=now
        ).update(confirmed_at=now, confirmed_by=actor)
        if updated != 1:
            raise DomainError(_("The time to sign the confirmation has passed."), status=409)
        audit.record(
            actor=actor,
            action="market.auction.lot.sign",
            target=lot,
            before={"confirmed_at": None},
            after={"confirmed_at": now.isoformat(), "winner": lot.winner_id},
            region=lot.seller.region,
        )
        notify.notify(
            _members([lot.seller_id]),
            kind="market.auction.signed",
            title=_("The buyer signed the sale confirmation of lot %(no)s")
            % {"no": f"{lot.session_id}-{lot.number}"},
            body=_("Complete the draft contract and submit it for registration."),
            link=f"/market/contracts/{lot.contract_id}/" if lot.contract_id else "",
        )
        _settle_deposits(lot.session_id, now)
    lot.refresh_from_db()
    return lot


def mark_defaults() -> int:
    """Winners who did not sign in time default (the periodic job): the lot is marked
    defaulted, the winner's deposit forfeited, the draft contract void; the seller
    may re-offer the lot. Returns how many lots defaulted."""
    now = timezone.now()
    due = AuctionLot.objects.filter(
        status=Status.SOLD, confirmed_at__isnull=True, sign_by__lt=now
    ).values_list("pk", flat=True)
    done = 0
    for lot_id in list(due):
        lot = get_lot(lot_id)
        winner_id = lot.winner_id
        assert winner_id is not None  # a sold lot has a winner (constraint)
        with transaction.atomic(durable=True):
            updated = AuctionLot.objects.filter(
                pk=lot.pk, status=Status.SOLD, confirmed_at__isnull=True, sign_by__lt=now
            ).update(status=Status.DEFAULTED, defaulted_at=now)
            if updated != 1:
                continue
            done += 1
            # The draft made at the hammer becomes void (kept: it records the failed sale);
            # one already submitted stays with the registrar, who refuses it.
            voided = bool(
                lot.contract_id
                and TechContract.objects.filter(
                    pk=lot.contract_id, status=TechContract.Status.DRAFT
                ).update(
                    status=TechContract.Status.VOID,
                    decision_reason=_("The buyer did not sign the sale confirmation in time."),
                )
            )
            forfeited = list(
                AuctionRegistration.objects.select_related("organisation__region").filter(
                    session_id=lot.session_id,
                    organisation_id=winner_id,
                    deposit_status=Deposit.HELD,
                )
            )
            for registration in forfeited:
                if AuctionRegistration.objects.filter(
                    pk=registration.pk, deposit_status=Deposit.HELD
                ).update(deposit_status=Deposit.FORFEITED, settled_at=now):
                    audit.record(
                        actor=None,
                        action="market.auction.deposit.forfeited",
                        target=registration,
                        before={"deposit_status": Deposit.HELD},
                        after={
                            "deposit_status": Deposit.FORFEITED,
                            "deposit_fen": registration.deposit_fen,
                            "lot": lot.pk,
                        },
                        region=registration.organisation.region,
                    )
            audit.record(
                actor=None,
                action="market.auction.lot.default",
                target=lot,
                before={"status": Status.SOLD},
                after={
                    "status": Status.DEFAULTED,
                    "winner": lot.winner_id,
                    "deposit_forfeited": bool(forfeited),
                    "contract_voided": lot.contract_id if voided else None,
                },
                region=lot.seller.region,
            )
            no = f"{lot.session_id}-{lot.number}"
            notify.notify(
                _members([lot.seller_id]),
                kind="market.auction.defaulted",
                title=_("The buyer of lot %(no)s did not sign: you may re-offer it") % {"no": no},
                link=f"/market/auctions/lots/{lot.pk}/",
            )
            notify.notify(
                _members([winner_id]),
                kind="market.auction.defaulted",
                title=_(
                    "Lot %(no)s: the confirmation was not signed in time; the deposit is forfeited"
                )
                % {"no": no},
                link=f"/market/auctions/lots/{lot.pk}/",
            )
            _settle_deposits(lot.session_id, now)
    return done
