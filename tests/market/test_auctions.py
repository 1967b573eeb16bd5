"""Technology auctions through the services: the Auction Law's timeline, lots and their
approval, registration and deposits, the bid rules, soft close and the hard end, the
hammer (reserve, sale confirmation, draft contract), deposits after the session, defaults
and re-offers, the results and the audit trail.

The helpers here build auctions that are open now by replaying their announcement in the
past (`at`), as the demo does; the API, page and race tests import them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation

from innocommons.accounts.models import Organisation, User
from innocommons.catalog.models import Term
from innocommons.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from innocommons.core.models import AuditEntry
from innocommons.market import tasks
from innocommons.market.models import (
    AuctionLot,
    AuctionRegistration,
    AuctionSession,
    Bid,
    TechContract,
)
from innocommons.market.selectors import auctions as selectors
from innocommons.market.selectors import contracts as contract_selectors
from innocommons.market.services import auctions as services
from innocommons.market.services import contracts as contract_services
from innocommons.vouchers.demo import at
from tests import factories as f

Y = 100  # fen per yuan
START = 2_000_000 * Y  # DESIGN §6's example: start 2,000,000, increment 100,000
INC = 100_000 * Y
DEPOSIT = 200_000 * Y

_seq = itertools.count(1)


# --- builders (also used by the API, page and race tests) -------------------------------------


def operator() -> User:
    op = User.objects.filter(staff_roles__role="operator").first()
    if op is None:
        op = f.user(f"auction-op{next(_seq)}")
        f.staff(op, "operator")
    return op


def session_input(now: datetime, **overrides: Any) -> services.SessionInput:
    values: dict[str, Any] = {
        "title": f"长三角技术成果拍卖会 {next(_seq)}",
        "announcement": "本场拍卖会拍卖高校科技成果，竞买人须登记并交纳保证金。",
        "viewing_starts_at": now + timedelta(days=1),
        "viewing_ends_at": now + timedelta(days=4),
        "starts_at": now + timedelta(days=8),
    }
    values.update(overrides)
    return services.SessionInput(**values)


def achievement(owner: Organisation, seller: User, **data: Any) -> Any:
    data.setdefault("title_zh", f"测试成果{next(_seq)}")
    return f.resource(owner, actor=seller, kind="achievement", **data)


@dataclass
class Auction:
    """An approved lot in a session announced in the past; opening `opens_in` from now."""

    session: AuctionSession
    lot: AuctionLot
    op: User
    seller: User  # a member of the seller organisation
    seller_org: Organisation

    def refresh(self) -> AuctionLot:
        self.lot.refresh_from_db()
        return self.lot


def auction(
    *,
    seller_org: Organisation | None = None,
    opens_in: timedelta = timedelta(hours=-1),
    duration: timedelta = timedelta(hours=2),
    extension: timedelta = timedelta(hours=1),
    sign_days: int = 10,
    **lot: Any,
) -> Auction:
    """A session opening `opens_in` from now (negative: already open) with one approved
    lot bidding from the opening for `duration`, hard end `extension` later."""
    now = timezone.now()
    opens = now + opens_in
    op = operator()
    seller_org = seller_org or f.org(type="university", region="320100")
    seller = f.user()
    f.member(seller, seller_org)
    resource = achievement(seller_org, seller)
    announced = opens - timedelta(days=10)
    with at(announced):
        session = services.create_session(
            actor=op,
            data=session_input(
                announced,
                viewing_starts_at=announced + timedelta(days=1),
                viewing_ends_at=opens - timedelta(hours=1),
                starts_at=opens,
                sign_days=sign_days,
            ),
        )
        values: dict[str, Any] = {
            "resource_id": resource.pk,
            "starting_price_fen": START,
            "increment_fen": INC,
            "deposit_fen": DEPOSIT,
            "starts_at": opens,
            "scheduled_end_at": opens + duration,
            "hard_end_at": opens + duration + extension,
            "soft_close_minutes": 5,
            "field": "manufacturing",
        }
        values.update(lot)
        offered = services.offer_lot(
            actor=seller, session_id=session.pk, data=services.LotInput(**values)
        )
        services.approve_lot(actor=op, lot_id=offered.pk)
    offered.refresh_from_db()
    return Auction(session=session, lot=offered, op=op, seller=seller, seller_org=seller_org)


def bidder(
    session: AuctionSession,
    *,
    deposit: int | None = DEPOSIT,
    org: Organisation | None = None,
    region: str = "310000",
) -> tuple[User, Organisation, AuctionRegistration]:
    """A member of a (new) verified enterprise, registered, with its deposit recorded."""
    org = org or f.org(region=region)
    user = f.user()
    f.member(user, org)
    registration = services.register_bidder(
        actor=user, session_id=session.pk, organisation_id=org.pk
    )
    if deposit:
        registration = services.record_deposit(
            actor=operator(), registration_id=registration.pk, amount_fen=deposit
        )
    return user, org, registration


def bid(user: User, lot: AuctionLot, amount: int, **kw: Any) -> Bid:
    return services.place_bid(
        actor=User.objects.get(pk=user.pk), lot_id=lot.pk, amount_fen=amount, **kw
    )


def end(a: Auction) -> datetime:
    """A moment just after the lot's current end."""
    return a.refresh().ends_at + timedelta(seconds=1)


def actions(target: Any) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages are checked in English (the default language is Chinese)."""
    with translation.override("en"):
        yield


# --- sessions: the Auction Law's timeline -------------------------------------------------------


def test_announcement_at_least_seven_days_before_opening() -> None:
    op, now = operator(), timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        services.create_session(
            actor=op, data=session_input(now, starts_at=now + timedelta(days=6, hours=23))
        )
    assert exc.value.field == "starts_at"
    assert "7" in str(exc.value.message)
    session = services.create_session(
        actor=op, data=session_input(now, starts_at=now + timedelta(days=7, minutes=1))
    )
    assert session.announced_at == session.created_at or session.announced_at <= timezone.now()
    assert actions(session) == ["market.auction.session.create"]


def test_viewing_lasts_two_days_and_ends_before_the_opening() -> None:
    op, now = operator(), timezone.now()
    short = session_input(
        now,
        viewing_starts_at=now + timedelta(days=1),
        viewing_ends_at=now + timedelta(days=2, hours=23),
    )
    with pytest.raises(ValidationFailed) as exc:
        services.create_session(actor=op, data=short)
    assert {e["field"] for e in exc.value.errors()} == {"viewing_ends_at"}
    late = session_input(now, viewing_ends_at=now + timedelta(days=9))
    with pytest.raises(ValidationFailed) as exc:
        services.create_session(actor=op, data=late)
    assert exc.value.errors()[0]["field"] == "viewing_ends_at"
    past = session_input(now, viewing_starts_at=now - timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        services.create_session(actor=op, data=past)
    assert exc.value.errors()[0]["field"] == "viewing_starts_at"
    # Exactly two days is enough.
    ok = session_input(
        now,
        viewing_starts_at=now + timedelta(days=1),
        viewing_ends_at=now + timedelta(days=3),
    )
    assert services.create_session(actor=op, data=ok).pk


def test_only_the_operator_announces(world) -> None:
    now = timezone.now()
    for user in (world.enterprise_member, world.admin_js, world.auditor, world.outsider):
        with pytest.raises(PermissionDenied):
            services.create_session(actor=user, data=session_input(now))
    assert services.create_session(actor=world.operator, data=session_input(now)).pk


def test_session_reports_every_problem_at_once() -> None:
    now = timezone.now()
    bad = session_input(
        now, title="", announcement="", starts_at=now + timedelta(days=1), sign_days=0
    )
    with pytest.raises(ValidationFailed) as exc:
        services.create_session(actor=operator(), data=bad)
    assert {"title", "announcement", "starts_at", "sign_days"} <= {
        e["field"] for e in exc.value.errors()
    }


# --- lots -----------------------------------------------------------------------------------


@pytest.fixture
def upcoming(world) -> AuctionSession:
    now = timezone.now()
    return services.create_session(actor=world.operator, data=session_input(now))


def lot_input(resource: Any, session: AuctionSession, **overrides: Any) -> services.LotInput:
    values: dict[str, Any] = {
        "resource_id": resource.pk,
        "starting_price_fen": START,
        "increment_fen": INC,
        "reserve_fen": 2_500_000 * Y,
        "deposit_fen": DEPOSIT,
        "starts_at": session.starts_at,
        "scheduled_end_at": session.starts_at + timedelta(hours=2),
        "hard_end_at": session.starts_at + timedelta(hours=3),
        "field": "electronics",
    }
    values.update(overrides)
    return services.LotInput(**values)


def test_members_offer_their_organisations_achievements(world, upcoming) -> None:
    resource = achievement(world.provider, world.provider_member)
    with pytest.raises(PermissionDenied):
        services.offer_lot(
            actor=world.enterprise_member,
            session_id=upcoming.pk,
            data=lot_input(resource, upcoming),
        )
    lot = services.offer_lot(
        actor=world.provider_member, session_id=upcoming.pk, data=lot_input(resource, upcoming)
    )
    assert lot.status == AuctionLot.Status.PENDING
    assert lot.seller == world.provider and lot.number == 1
    assert lot.ends_at == lot.scheduled_end_at
    assert actions(lot) == ["market.auction.lot.offer"]
    # One live lot per achievement.
    with pytest.raises(DomainError) as exc:
        services.offer_lot(
            actor=world.provider_member, session_id=upcoming.pk, data=lot_input(resource, upcoming)
        )
    assert exc.value.status == 409
    other = achievement(world.provider, world.provider_member)
    second = services.offer_lot(
        actor=world.provider_member, session_id=upcoming.pk, data=lot_input(other, upcoming)
    )
    assert second.number == 2


def test_only_published_achievements_of_verified_organisations(world, upcoming) -> None:
    service = f.resource(world.provider, actor=world.provider_member, kind="service")
    with pytest.raises(DomainError) as exc:
        services.offer_lot(
            actor=world.provider_member, session_id=upcoming.pk, data=lot_input(service, upcoming)
        )
    assert exc.value.field == "resource"
    draft = f.resource(world.provider, actor=world.provider_member, publish=False)
    with pytest.raises(DomainError, match="Publish"):
        services.offer_lot(
            actor=world.provider_member, session_id=upcoming.pk, data=lot_input(draft, upcoming)
        )
    # An organisation suspended after publishing cannot offer its achievements.
    suspended = f.org(type="institute")
    member = f.user()
    f.member(member, suspended)
    listing = achievement(suspended, member)
    Organisation.objects.filter(pk=suspended.pk).update(status="suspended")
    with pytest.raises(PermissionDenied):
        services.offer_lot(actor=member, session_id=upcoming.pk, data=lot_input(listing, upcoming))


def test_lot_rules(world, upcoming) -> None:
    resource = achievement(world.provider, world.provider_member)

    def errors(**overrides: Any) -> set[str]:
        with pytest.raises(ValidationFailed) as exc:
            services.offer_lot(
                actor=world.provider_member,
                session_id=upcoming.pk,
                data=lot_input(resource, upcoming, **overrides),
            )
        return {e["field"] for e in exc.value.errors()}

    opens = upcoming.starts_at
    assert errors(starting_price_fen=0, increment_fen=-1) == {"starting_price_fen", "increment_fen"}
    assert errors(reserve_fen=-1, deposit_fen=-5) == {"reserve_fen", "deposit_fen"}
    assert errors(starts_at=opens - timedelta(minutes=1)) == {"starts_at"}
    assert errors(scheduled_end_at=opens + timedelta(minutes=5)) == {"scheduled_end_at"}
    assert errors(hard_end_at=opens + timedelta(hours=1)) == {"hard_end_at"}
    assert errors(hard_end_at=opens + timedelta(hours=27)) == {"hard_end_at"}
    assert errors(soft_close_minutes=0) == {"soft_close_minutes"}
    assert errors(field="not-a-field") == {"field"}


def test_contract_field_comes_from_the_catalog(world, upcoming) -> None:
    energy = Term.objects.get(scheme=Term.Scheme.TECH_FIELD, code="0603")
    resource = achievement(world.provider, world.provider_member)
    resource.field = energy
    resource.save(update_fields=["field"])
    lot = services.offer_lot(
        actor=world.provider_member,
        session_id=upcoming.pk,
        data=lot_input(resource, upcoming, field=""),
    )
    assert lot.field == "energy"


def test_lots_are_added_before_the_session_opens(world) -> None:
    a = auction()
    resource = achievement(a.seller_org, a.seller)
    with pytest.raises(DomainError) as exc:
        services.offer_lot(
            actor=a.seller, session_id=a.session.pk, data=lot_input(resource, a.session)
        )
    assert exc.value.status == 409


def test_operator_approves_or_rejects_lots(world, upcoming) -> None:
    resource = achievement(world.provider, world.provider_member)
    lot = services.offer_lot(
        actor=world.provider_member, session_id=upcoming.pk, data=lot_input(resource, upcoming)
    )
    with pytest.raises(PermissionDenied):
        services.approve_lot(actor=world.provider_member, lot_id=lot.pk)
    # Pending lots are for the seller and the operator only.
    with pytest.raises(NotFound):
        selectors.get_lot(world.enterprise_member, lot.pk)
    assert selectors.get_lot(world.provider_member, lot.pk) == lot
    with pytest.raises(DomainError) as exc:
        services.reject_lot(actor=world.operator, lot_id=lot.pk, reason="")
    assert exc.value.field == "reason"
    rejected = services.reject_lot(actor=world.operator, lot_id=lot.pk, reason="权属材料不全")
    assert rejected.status == AuctionLot.Status.REJECTED
    with pytest.raises(DomainError) as exc:
        services.approve_lot(actor=world.operator, lot_id=lot.pk)
    assert exc.value.status == 409
    # A rejected lot frees the achievement for another offer.
    again = services.offer_lot(
        actor=world.provider_member, session_id=upcoming.pk, data=lot_input(resource, upcoming)
    )
    approved = services.approve_lot(actor=world.operator, lot_id=again.pk)
    assert approved.status == AuctionLot.Status.OPEN and approved.approved_by == world.operator
    assert selectors.get_lot(world.enterprise_member, again.pk).pk == again.pk
    assert actions(lot) == ["market.auction.lot.offer", "market.auction.lot.reject"]


# --- registration and deposits ------------------------------------------------------------------


def test_registration_needs_a_verified_organisation_and_membership(world, upcoming) -> None:
    with pytest.raises(PermissionDenied):
        services.register_bidder(
            actor=world.outsider, session_id=upcoming.pk, organisation_id=world.enterprise.pk
        )
    with pytest.raises(PermissionDenied):
        services.register_bidder(
            actor=world.org_admin, session_id=upcoming.pk, organisation_id=world.pending.pk
        )
    first = services.register_bidder(
        actor=world.enterprise_member, session_id=upcoming.pk, organisation_id=world.enterprise.pk
    )
    second = services.register_bidder(
        actor=world.provider_member, session_id=upcoming.pk, organisation_id=world.provider.pk
    )
    assert (first.number, second.number) == (1, 2)
    assert first.deposit_status == AuctionRegistration.Deposit.NONE
    with pytest.raises(DomainError) as exc:
        services.register_bidder(
            actor=world.enterprise_member,
            session_id=upcoming.pk,
            organisation_id=world.enterprise.pk,
        )
    assert exc.value.status == 409
    assert actions(first) == ["market.auction.register"]


def test_operators_and_auditors_do_not_register(world, upcoming) -> None:
    f.member(world.operator, world.enterprise)
    f.member(world.auditor, world.provider)
    with pytest.raises(PermissionDenied):
        services.register_bidder(
            actor=world.operator, session_id=upcoming.pk, organisation_id=world.enterprise.pk
        )
    with pytest.raises(PermissionDenied):
        services.register_bidder(
            actor=world.auditor, session_id=upcoming.pk, organisation_id=world.provider.pk
        )


def test_operator_records_the_deposit_once(world, upcoming) -> None:
    registration = services.register_bidder(
        actor=world.enterprise_member, session_id=upcoming.pk, organisation_id=world.enterprise.pk
    )
    with pytest.raises(PermissionDenied):
        services.record_deposit(
            actor=world.enterprise_member, registration_id=registration.pk, amount_fen=DEPOSIT
        )
    with pytest.raises(DomainError) as exc:
        services.record_deposit(actor=world.operator, registration_id=registration.pk, amount_fen=0)
    assert exc.value.field == "amount_fen"
    held = services.record_deposit(
        actor=world.operator, registration_id=registration.pk, amount_fen=DEPOSIT, reference="BK1"
    )
    assert held.deposit_status == "held" and held.deposit_fen == DEPOSIT
    with pytest.raises(DomainError) as exc:
        services.record_deposit(
            actor=world.operator, registration_id=registration.pk, amount_fen=DEPOSIT
        )
    assert exc.value.status == 409
    assert actions(registration) == ["market.auction.register", "market.auction.deposit.record"]


# --- bidding --------------------------------------------------------------------------------


def test_bidding_needs_registration_and_a_recorded_deposit(world) -> None:
    a = auction()
    with pytest.raises(PermissionDenied, match="Register"):
        bid(world.enterprise_member, a.lot, START)
    services.register_bidder(
        actor=world.enterprise_member, session_id=a.session.pk, organisation_id=world.enterprise.pk
    )
    with pytest.raises(PermissionDenied):
        bid(world.enterprise_member, a.lot, START)
    _u, _o, small = bidder(a.session, deposit=DEPOSIT - 1)
    with pytest.raises(PermissionDenied):
        bid(_u, a.lot, START)
    assert small.deposit_fen < a.lot.deposit_fen
    assert a.refresh().bid_count == 0


def test_seller_and_operators_cannot_bid(world) -> None:
    a = auction(seller_org=world.provider)
    # The seller's members cannot bid, even for another organisation they belong to.
    user, org, _reg = bidder(a.session)
    f.member(world.provider_member, org)
    with pytest.raises(PermissionDenied, match="seller"):
        bid(world.provider_member, a.lot, START, organisation_id=org.pk)
    # Operators cannot bid at all, auditors neither.
    f.member(world.operator, org)
    with pytest.raises(PermissionDenied):
        bid(world.operator, a.lot, START, organisation_id=org.pk)
    f.member(world.auditor, org)
    with pytest.raises(PermissionDenied):
        bid(world.auditor, a.lot, START, organisation_id=org.pk)
    # An organisation declared related to the seller cannot bid either.
    related_user, related_org, _ = bidder(a.session)
    world.provider.related.add(related_org)
    with pytest.raises(PermissionDenied):
        bid(related_user, a.lot, START)
    assert bid(user, a.lot, START).seq == 1


def test_first_bid_is_the_starting_price_plus_whole_increments() -> None:
    a = auction()
    u1, _o1, _ = bidder(a.session)
    with pytest.raises(DomainError) as exc:
        bid(u1, a.lot, START - INC)
    assert exc.value.field == "amount_fen" and exc.value.status == 400
    with pytest.raises(DomainError) as exc:
        bid(u1, a.lot, START + INC // 2)
    assert exc.value.field == "amount_fen"
    first = bid(u1, a.lot, START)  # k = 0: the starting price itself
    assert (first.seq, first.amount_fen) == (1, START)
    a2 = auction()
    u2, _o2, _ = bidder(a2.session)
    assert bid(u2, a2.lot, START + 3 * INC).amount_fen == START + 3 * INC


def test_raises_are_whole_positive_multiples_over_the_high_bid() -> None:
    a = auction()
    u1, o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    bid(u1, a.lot, START)
    with pytest.raises(DomainError) as exc:
        bid(u2, a.lot, START)  # equal: not a raise
    assert exc.value.status == 409
    assert "2,100,000.00" in str(exc.value.message)  # the next valid bid is named
    with pytest.raises(DomainError) as exc:
        bid(u2, a.lot, START + INC + 1)
    assert exc.value.status == 400
    assert bid(u2, a.lot, START + 2 * INC).seq == 2
    # The high bidder does not raise against itself.
    u3 = f.user()
    f.member(u3, Organisation.objects.get(pk=a.refresh().high_bidder_id))
    with pytest.raises(DomainError, match="highest"):
        bid(u3, a.lot, START + 3 * INC)
    assert bid(u1, a.lot, START + 5 * INC).seq == 3
    lot = a.refresh()
    assert (lot.bid_count, lot.high_bid_fen, lot.high_bidder_id) == (3, START + 5 * INC, o1.pk)
    assert list(
        Bid.objects.filter(lot=lot).order_by("seq").values_list("amount_fen", flat=True)
    ) == [
        START,
        START + 2 * INC,
        START + 5 * INC,
    ]


def test_no_bids_before_the_opening_or_on_unapproved_lots(world, upcoming) -> None:
    a = auction(opens_in=timedelta(hours=1))
    user, _org, _ = bidder(a.session)
    with pytest.raises(DomainError, match="opens") as exc:
        bid(user, a.lot, START)
    assert exc.value.status == 409
    resource = achievement(world.provider, world.provider_member)
    pending = services.offer_lot(
        actor=world.provider_member, session_id=upcoming.pk, data=lot_input(resource, upcoming)
    )
    pending_user, _o, _ = bidder(upcoming)
    with pytest.raises(DomainError):
        bid(pending_user, pending, START)


def test_closed_lot_refuses_bids_and_closes_on_the_spot() -> None:
    a = auction()
    u1, _o1, _ = bidder(a.session)
    bid(u1, a.lot, START)
    with at(end(a)):
        u2, _o2, _ = bidder(a.session)
        with pytest.raises(DomainError, match="closed") as exc:
            bid(u2, a.lot, START + INC)
    assert exc.value.status == 409
    assert a.refresh().status == AuctionLot.Status.SOLD


def test_bids_are_irrevocable() -> None:
    a = auction()
    u1, _o, _ = bidder(a.session)
    bid(u1, a.lot, START)
    with pytest.raises(PermissionError):
        Bid.objects.filter(lot=a.lot).delete()
    with pytest.raises(PermissionError):
        Bid.objects.filter(lot=a.lot).update(amount_fen=1)


# --- soft close and the hard end ------------------------------------------------------------------


def test_a_late_bid_extends_the_end_by_the_soft_close_window() -> None:
    a = auction(duration=timedelta(hours=1), extension=timedelta(minutes=30))
    u1, _o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    scheduled = a.lot.scheduled_end_at
    with at(scheduled - timedelta(minutes=10)):  # outside the 5-minute window
        bid(u1, a.lot, START)
    assert a.refresh().ends_at == scheduled
    moment = scheduled - timedelta(minutes=2)
    with at(moment):
        bid(u2, a.lot, START + INC)
    assert a.refresh().ends_at == moment + timedelta(minutes=5)
    assert a.lot.ends_at > a.lot.scheduled_end_at
    # A bid after the scheduled end but before the extended end is still valid.
    with at(scheduled + timedelta(minutes=1)):
        bid(u1, a.lot, START + 2 * INC)
    assert a.refresh().ends_at == scheduled + timedelta(minutes=6)


def test_extensions_never_pass_the_hard_end() -> None:
    a = auction(duration=timedelta(hours=1), extension=timedelta(minutes=7))
    u1, _o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    hard = a.lot.hard_end_at
    users = [u1, u2]
    moment = a.lot.scheduled_end_at - timedelta(minutes=1)
    amount = START
    for i in range(3):  # each bid 3 minutes after the last, always inside the window
        with at(moment):
            bid(users[i % 2], a.lot, amount)
        lot = a.refresh()
        assert lot.ends_at == min(moment + timedelta(minutes=5), hard)
        moment += timedelta(minutes=3)
        amount += INC
    assert a.refresh().ends_at == hard
    with at(hard), pytest.raises(DomainError, match="closed"):
        bid(users[0], a.lot, amount)
    assert a.refresh().status == AuctionLot.Status.SOLD
    assert a.lot.closed_at == hard


# --- the hammer -------------------------------------------------------------------------------


def test_reserve_not_met_leaves_the_lot_unsold() -> None:
    a = auction(reserve_fen=START + 5 * INC)
    u1, _o1, _ = bidder(a.session)
    bid(u1, a.lot, START + 4 * INC)
    with at(end(a)):
        assert services.close_lot(lot_id=a.lot.pk) is True
    lot = a.refresh()
    assert lot.status == AuctionLot.Status.UNSOLD
    assert lot.winner_id is None and lot.hammer_fen is None and lot.contract_id is None
    assert not TechContract.objects.filter(source_ref=f"lot:{lot.pk}").exists()
    close = AuditEntry.objects.get(action="market.auction.lot.close", target_id=str(lot.pk))
    assert close.after["reserve_met"] is False and close.after["status"] == "unsold"


def test_no_bids_unsold() -> None:
    a = auction()
    with at(end(a)):
        assert tasks.close_due_lots() is None
    assert a.refresh().status == AuctionLot.Status.UNSOLD


def test_sale_makes_a_draft_transfer_contract_and_a_confirmation() -> None:
    a = auction(reserve_fen=START + 2 * INC, sign_days=5)
    u1, _o1, _ = bidder(a.session)
    u2, o2, _ = bidder(a.session, region="330100")
    bid(u1, a.lot, START)
    bid(u2, a.lot, START + 2 * INC)
    closed_at = end(a)
    with at(closed_at):
        assert services.close_lot(lot_id=a.lot.pk) is True
        assert services.close_lot(lot_id=a.lot.pk) is False  # once only
    lot = a.refresh()
    assert lot.status == AuctionLot.Status.SOLD
    assert (lot.winner_id, lot.hammer_fen) == (o2.pk, START + 2 * INC)
    assert lot.sign_by == closed_at + timedelta(days=5)
    contract = lot.contract
    assert contract is not None
    assert contract.status == TechContract.Status.DRAFT
    assert (contract.seller_id, contract.buyer_id) == (a.seller_org.pk, o2.pk)
    assert contract.amount_fen == START + 2 * INC
    assert (contract.type, contract.source, contract.source_ref) == (
        "transfer",
        "auction",
        f"lot:{lot.pk}",
    )
    assert contract.field == "manufacturing"
    assert contract.buyer_region_id == "330100"
    assert selectors.confirmation(u2, lot.pk).pk == lot.pk
    assert selectors.confirmation(a.op, lot.pk).pk == lot.pk
    with pytest.raises(PermissionDenied):
        selectors.confirmation(u1, lot.pk)


def test_lazy_read_closes_a_finished_lot() -> None:
    a = auction()
    u1, _o1, _ = bidder(a.session)
    bid(u1, a.lot, START)
    with at(end(a)):
        lot = selectors.get_lot(AnonymousUser(), a.lot.pk)
        assert lot.status == AuctionLot.Status.SOLD
        assert tasks.close_due_lots() is None
    closes = AuditEntry.objects.filter(action="market.auction.lot.close", target_id=str(lot.pk))
    assert [e.note for e in closes] == ["read"]


def test_winner_signs_then_deposits_settle() -> None:
    a = auction()
    u1, _o1, r1 = bidder(a.session)
    u2, _o2, r2 = bidder(a.session)
    _u3, _o3, r3 = bidder(a.session, deposit=None)  # registered, never lodged a deposit
    bid(u1, a.lot, START)
    bid(u2, a.lot, START + INC)
    with at(end(a)):
        tasks.close_due_lots()
    r1.refresh_from_db()
    r2.refresh_from_db()
    r3.refresh_from_db()
    assert r1.deposit_status == "refund_due"  # lost: marked for refund
    assert r2.deposit_status == "held"  # won: held until it signs
    assert r3.deposit_status == "none"
    with pytest.raises(PermissionDenied):
        services.sign_confirmation(actor=u1, lot_id=a.lot.pk)
    signed = services.sign_confirmation(actor=u2, lot_id=a.lot.pk)
    assert signed.confirmed_at is not None and signed.confirmed_by == u2
    r2.refresh_from_db()
    assert r2.deposit_status == "applied"
    with pytest.raises(DomainError):
        services.sign_confirmation(actor=u2, lot_id=a.lot.pk)
    refunded = services.record_refund(actor=a.op, registration_id=r1.pk, reference="退款001")
    assert refunded.deposit_status == "refunded"
    with pytest.raises(DomainError):
        services.record_refund(actor=a.op, registration_id=r2.pk)
    assert actions(r1) == [
        "market.auction.register",
        "market.auction.deposit.record",
        "market.auction.deposit.refund_due",
        "market.auction.deposit.refunded",
    ]


def test_refunds_wait_until_every_lot_of_the_session_is_over() -> None:
    a = auction(duration=timedelta(hours=2))
    resource = achievement(a.seller_org, a.seller)
    with at(a.session.announced_at):
        later = services.offer_lot(
            actor=a.seller,
            session_id=a.session.pk,
            data=lot_input(
                resource,
                a.session,
                reserve_fen=None,
                scheduled_end_at=a.session.starts_at + timedelta(hours=5),
                hard_end_at=a.session.starts_at + timedelta(hours=6),
            ),
        )
        services.approve_lot(actor=a.op, lot_id=later.pk)
    u1, _o1, r1 = bidder(a.session)
    bid(u1, a.lot, START)
    _u2, _o2, r2 = bidder(a.session)
    with at(end(a)):
        tasks.close_due_lots()
    r2.refresh_from_db()
    assert r2.deposit_status == "held"  # the second lot is still open
    with at(later.ends_at + timedelta(seconds=1)):
        tasks.close_due_lots()
    r2.refresh_from_db()
    r1.refresh_from_db()
    assert r2.deposit_status == "refund_due"
    assert r1.deposit_status == "held"  # the winner of the first lot has not signed yet


def test_default_forfeits_the_deposit_and_the_lot_can_be_reoffered(world) -> None:
    a = auction(sign_days=3)
    u1, o1, r1 = bidder(a.session)
    bid(u1, a.lot, START + INC)
    with at(end(a)):
        tasks.close_due_lots()
    lot = a.refresh()
    contract_id = lot.contract_id
    assert contract_id is not None
    assert lot.sign_by is not None
    with at(lot.sign_by - timedelta(minutes=1)):
        assert services.mark_defaults() == 0
    with at(lot.sign_by + timedelta(seconds=1)):
        with pytest.raises(DomainError):
            services.sign_confirmation(actor=u1, lot_id=lot.pk)
        tasks.mark_auction_defaults()
        assert services.mark_defaults() == 0  # once only
    lot = a.refresh()
    assert lot.status == AuctionLot.Status.DEFAULTED and lot.defaulted_at is not None
    assert lot.winner_id == o1.pk
    r1.refresh_from_db()
    assert r1.deposit_status == "forfeited"
    # The draft is void, and kept with the lot as the record of the failed sale: no one can
    # submit it, and the registrars never see it.
    void = TechContract.objects.get(pk=contract_id)
    assert void.status == TechContract.Status.VOID and void.decision_reason
    assert lot.contract_id == contract_id
    with pytest.raises(DomainError):
        contract_services.submit_contract(actor=a.seller, contract_id=contract_id)
    assert (
        not contract_selectors.registrar_queue(world.admin_js, status="")
        .filter(pk=contract_id)
        .exists()
    )
    assert "market.auction.lot.default" in actions(lot)
    assert "market.auction.deposit.forfeited" in actions(r1)

    # Re-offer: by the seller or the operator, into a session not yet open, once.
    nxt = services.create_session(actor=a.op, data=session_input(timezone.now()))
    with pytest.raises(PermissionDenied):
        services.reoffer_lot(actor=world.enterprise_member, lot_id=lot.pk, session_id=nxt.pk)
    with pytest.raises(DomainError) as exc:
        services.reoffer_lot(actor=a.seller, lot_id=lot.pk, session_id=a.session.pk)
    assert exc.value.status == 409  # that session has opened
    new = services.reoffer_lot(
        actor=a.seller, lot_id=lot.pk, session_id=nxt.pk, starting_price_fen=START - 5 * INC
    )
    assert new.status == AuctionLot.Status.PENDING and new.reoffer_of_id == lot.pk
    assert (new.resource_id, new.seller_id, new.increment_fen, new.reserve_fen) == (
        lot.resource_id,
        lot.seller_id,
        lot.increment_fen,
        lot.reserve_fen,
    )
    assert new.starting_price_fen == START - 5 * INC
    assert new.starts_at == nxt.starts_at
    assert new.scheduled_end_at - new.starts_at == lot.scheduled_end_at - lot.starts_at
    assert actions(new) == ["market.auction.lot.reoffer"]
    with pytest.raises(DomainError) as exc:
        services.reoffer_lot(actor=a.op, lot_id=lot.pk, session_id=nxt.pk)
    assert exc.value.status == 409


def test_sold_lots_are_not_reoffered() -> None:
    a = auction()
    u1, _o, _ = bidder(a.session)
    bid(u1, a.lot, START)
    with at(end(a)):
        tasks.close_due_lots()
    nxt = services.create_session(actor=a.op, data=session_input(timezone.now()))
    with pytest.raises(DomainError) as exc:
        services.reoffer_lot(actor=a.seller, lot_id=a.lot.pk, session_id=nxt.pk)
    assert exc.value.status == 409


def test_unsold_lot_reoffered_by_the_operator() -> None:
    a = auction()
    with at(end(a)):
        tasks.close_due_lots()
    nxt = services.create_session(actor=a.op, data=session_input(timezone.now()))
    new = services.reoffer_lot(actor=a.op, lot_id=a.lot.pk, session_id=nxt.pk)
    assert new.reoffer_of_id == a.lot.pk and new.number == 1


# --- results --------------------------------------------------------------------------------


def test_session_results_and_premium() -> None:
    a = auction()
    resources = [achievement(a.seller_org, a.seller) for _ in range(2)]
    with at(a.session.announced_at):
        extra = []
        for r, reserve in zip(resources, (None, START * 3), strict=True):
            offered = services.offer_lot(
                actor=a.seller,
                session_id=a.session.pk,
                data=lot_input(r, a.session, reserve_fen=reserve, starting_price_fen=START),
            )
            services.approve_lot(actor=a.op, lot_id=offered.pk)
            extra.append(offered)
    u1, _o1, _ = bidder(a.session)
    u2, _o2, _ = bidder(a.session)
    bid(u1, a.lot, START)
    bid(u2, a.lot, START + 4 * INC)  # 2.4 m on 2.0 m: +20 %
    bid(u1, extra[0], START + 10 * INC)  # 3.0 m on 2.0 m: +50 %
    bid(u2, extra[1], START)  # below the reserve: unsold
    last = max(lot.ends_at for lot in AuctionLot.objects.filter(session=a.session))
    with at(last + timedelta(seconds=1)):
        tasks.close_due_lots()
    results = selectors.session_results(a.session)
    assert (results.lots, results.closed, results.sold, results.unsold) == (3, 3, 2, 1)
    assert results.total_fen == START + 4 * INC + START + 10 * INC
    assert results.starting_fen == 2 * START
    assert results.premium_pct == Decimal("35.0")  # (5.4 − 4.0) / 4.0
    assert results.mean_premium_pct == Decimal("35.0")  # (20 + 50) / 2
    assert results.sale_rate_pct == Decimal("66.7")
    assert results.benchmark_pct == Decimal("35.6")


# --- the audit trail ------------------------------------------------------------------------------


def test_every_step_is_audited() -> None:
    a = auction()
    u1, _o1, r1 = bidder(a.session)
    u2, _o2, _r2 = bidder(a.session)
    bid(u1, a.lot, START)
    bid(u2, a.lot, START + INC)
    with at(end(a)):
        tasks.close_due_lots()
    lot = a.refresh()
    assert actions(a.session) == ["market.auction.session.create"]
    assert actions(lot) == [
        "market.auction.lot.offer",
        "market.auction.lot.approve",
        "market.auction.bid",
        "market.auction.bid",
        "market.auction.lot.close",
    ]
    bids = AuditEntry.objects.filter(action="market.auction.bid", target_id=str(lot.pk)).order_by(
        "id"
    )
    assert [(e.after["seq"], e.after["amount_fen"]) for e in bids] == [(1, START), (2, START + INC)]
    assert bids[0].actor == u1
    assert actions(r1)[:2] == ["market.auction.register", "market.auction.deposit.record"]
    assert AuditEntry.objects.filter(
        action="market.contract.draft", target_id=str(lot.contract_id)
    ).exists()


class AnonymousUser:
    is_authenticated = False
    is_superuser = False


# --- demo data --------------------------------------------------------------------------------


def test_demo_auctions_load_once_through_the_services() -> None:
    from innocommons.catalog import demo
    from innocommons.market.demo_auctions import load_auction_demo

    demo.load_demo()
    assert load_auction_demo(demo.demo_organisations()) == 2
    assert load_auction_demo(demo.demo_organisations()) == 0
    past, live = sorted(AuctionSession.objects.all(), key=lambda s: s.starts_at)
    results = selectors.session_results(past)
    assert (results.sold, results.unsold, results.defaulted) == (2, 2, 1)
    assert results.premium_pct is not None and Decimal(30) < results.premium_pct < Decimal(45)
    assert set(past.registrations.values_list("deposit_status", flat=True)) == {
        "refunded",
        "applied",
        "forfeited",
    }
    now = timezone.now()
    live_lots = list(live.lots.all())
    assert len(live_lots) == 4 and all(lot.phase(now) == "live" for lot in live_lots)
    assert sum(lot.bid_count for lot in live_lots) >= 8
    assert any(lot.reoffer_of_id for lot in live_lots)
    for lot in AuctionLot.objects.all():
        bids = list(lot.bids.order_by("seq").values_list("amount_fen", flat=True))
        assert bids == sorted(set(bids)) and len(bids) == lot.bid_count
    from_auctions = TechContract.objects.filter(source="auction")
    assert from_auctions.count() == 3
    assert from_auctions.filter(status=TechContract.Status.VOID).count() == 1  # the defaulted
