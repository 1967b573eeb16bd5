"""JSON API: technology auctions (拍卖会), mounted under /api/v1/.

Amounts are integer fen; times ISO 8601. Sessions, approved lots, prices, bid histories
(bidders as "Bidder 3") and results are public; names of bidders, the reserve and the
registrations are for operators and auditors (the reserve also for the seller). Every write
calls one service, which checks the permission. A bid that another bid overtook answers
409 with the current price in the message; `GET /auction-lots/{id}` gives the state again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH, current_user
from innocommons.market.models import AuctionLot, AuctionRegistration, AuctionSession, Bid
from innocommons.market.selectors import auctions as selectors
from innocommons.market.services import auctions as services

router = Router(tags=["auctions"])

PAGE = Query(1, ge=1, le=10_000)
PAGE_SIZE = Query(20, ge=1, le=100)


class OrgRef(Schema):
    id: int
    name: str


class QuickBidOut(Schema):
    amount_fen: int
    increments: int = Field(description="Increments over the current price")


class BidLineOut(Schema):
    seq: int
    amount_fen: int
    bidder: str = Field(description='"Bidder 3"; names for operators and auditors')
    placed_at: datetime
    mine: bool


class LotSummary(Schema):
    id: int
    session: int
    number: int
    title: str
    seller: OrgRef
    status: str
    phase: str = Field(
        description="pending | rejected | upcoming | live | sold | unsold | defaulted"
    )
    starting_price_fen: int
    increment_fen: int
    deposit_fen: int
    current_price_fen: int
    bid_count: int
    starts_at: datetime
    ends_at: datetime
    hammer_fen: int | None
    url: str


class LotOut(LotSummary):
    resource: int
    resource_url: str
    field: str
    terms: str
    has_reserve: bool
    reserve_fen: int | None = Field(description="The seller, operators and auditors only")
    reserve_met: bool | None = Field(description="The seller, operators and auditors only")
    scheduled_end_at: datetime
    hard_end_at: datetime
    soft_close_minutes: int
    extended: bool = Field(description="A late bid moved the end (soft close)")
    next_bid_fen: int
    quick_bids: list[QuickBidOut]
    high_bidder: str
    seconds_left: int = Field(description="To the opening when upcoming, else to the end")
    server_time: datetime
    closed_at: datetime | None
    winner: str | None
    sign_by: datetime | None
    confirmed_at: datetime | None
    contract: int | None = Field(description="The draft contract (the parties only)")
    reoffer_of: int | None
    can_bid: bool
    cannot_bid_reason: str
    history: list[BidLineOut]


def _summary(lot: AuctionLot, now: datetime) -> dict[str, Any]:
    return {
        "id": lot.pk,
        "session": lot.session_id,
        "number": lot.number,
        "title": lot.title,
        "seller": {"id": lot.seller_id, "name": lot.seller.name},
        "status": lot.status,
        "phase": "live" if lot.phase(now) == "ending" else lot.phase(now),
        "starting_price_fen": lot.starting_price_fen,
        "increment_fen": lot.increment_fen,
        "deposit_fen": lot.deposit_fen,
        "current_price_fen": lot.current_price_fen,
        "bid_count": lot.bid_count,
        "starts_at": lot.starts_at,
        "ends_at": lot.ends_at,
        "hammer_fen": lot.hammer_fen,
        "url": f"/market/auctions/lots/{lot.pk}/",
    }


def lot_out(user: Any, lot: AuctionLot) -> LotOut:
    state = selectors.lot_state(user, lot)
    parties = selectors.can_see_confirmation(user, lot)
    # The winner is the high bidder at the close: the latest bid's bidder.
    winner = state.high_label if lot.winner_id is not None else None
    return LotOut(
        **_summary(lot, state.now),
        resource=lot.resource_id,
        resource_url=f"/resources/{lot.resource_id}/",
        field=lot.field,
        terms=lot.terms,
        has_reserve=lot.reserve_fen is not None,
        reserve_fen=lot.reserve_fen if state.reserve_visible else None,
        reserve_met=state.reserve_met,
        scheduled_end_at=lot.scheduled_end_at,
        hard_end_at=lot.hard_end_at,
        soft_close_minutes=lot.soft_close_minutes,
        extended=state.extended,
        next_bid_fen=state.next_fen,
        quick_bids=[
            QuickBidOut(amount_fen=q.amount_fen, increments=q.increments) for q in state.quick
        ],
        high_bidder=state.high_label,
        seconds_left=state.seconds_left,
        server_time=state.now,
        closed_at=lot.closed_at,
        winner=winner,
        sign_by=lot.sign_by,
        confirmed_at=lot.confirmed_at,
        contract=lot.contract_id if parties else None,
        reoffer_of=lot.reoffer_of_id,
        can_bid=state.bidder.can_bid,
        cannot_bid_reason=state.bidder.reason,
        history=[
            BidLineOut(
                seq=h.seq,
                amount_fen=h.amount_fen,
                bidder=h.label,
                placed_at=h.placed_at,
                mine=h.mine,
            )
            for h in state.history
        ],
    )


class ResultsOut(Schema):
    lots: int
    closed: int
    sold: int
    unsold: int
    defaulted: int
    total_fen: int = Field(description="Σ hammer prices of the lots sold")
    starting_fen: int = Field(description="Σ starting prices of the lots sold")
    premium_pct: Decimal | None = Field(description="Σ hammer over Σ start, in percent")
    mean_premium_pct: Decimal | None = Field(description="Mean of the lots' premiums")
    sale_rate_pct: Decimal | None
    benchmark_pct: Decimal = Field(description="Zhejiang's online auctions since 2012")


class RegistrationOut(Schema):
    id: int
    session: int
    organisation: OrgRef
    number: int
    bidder: str
    registered_at: datetime
    deposit_status: str
    deposit_fen: int
    deposit_recorded_at: datetime | None
    settled_at: datetime | None


def registration_out(r: AuctionRegistration) -> RegistrationOut:
    return RegistrationOut(
        id=r.pk,
        session=r.session_id,
        organisation=OrgRef(id=r.organisation_id, name=r.organisation.name),
        number=r.number,
        bidder=services.bidder_label(r.number),
        registered_at=r.registered_at,
        deposit_status=r.deposit_status,
        deposit_fen=r.deposit_fen,
        deposit_recorded_at=r.deposit_recorded_at,
        settled_at=r.settled_at,
    )


class SessionSummary(Schema):
    id: int
    title: str
    phase: str = Field(description="announced | viewing | live | closed")
    announced_at: datetime
    viewing_starts_at: datetime
    viewing_ends_at: datetime
    starts_at: datetime
    lot_count: int
    url: str


class SessionOut(SessionSummary):
    announcement: str
    viewing_place: str
    sign_days: int
    lots: list[LotSummary]
    results: ResultsOut
    my_registrations: list[RegistrationOut]


class SessionPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[SessionSummary]


def _session_summary(
    s: AuctionSession, now: datetime, open_count: int, lot_count: int
) -> dict[str, Any]:
    return {
        "id": s.pk,
        "title": s.display_title,
        "phase": selectors.session_phase(s, now, open_count),
        "announced_at": s.announced_at,
        "viewing_starts_at": s.viewing_starts_at,
        "viewing_ends_at": s.viewing_ends_at,
        "starts_at": s.starts_at,
        "lot_count": lot_count,
        "url": f"/market/auctions/{s.pk}/",
    }


def _results(s: AuctionSession) -> ResultsOut:
    r = selectors.session_results(s)
    return ResultsOut(**r.__dict__)


def session_out(user: Any, s: AuctionSession) -> SessionOut:
    lots = selectors.session_lots(user, s)
    now = timezone.now()
    public = [lot for lot in lots if lot.status in selectors.PUBLIC_STATUSES]
    open_count = sum(1 for lot in lots if lot.status == AuctionLot.Status.OPEN)
    return SessionOut(
        **_session_summary(s, now, open_count, len(public)),
        announcement=s.announcement,
        viewing_place=s.viewing_place,
        sign_days=s.sign_days,
        lots=[LotSummary(**_summary(lot, now)) for lot in lots],
        results=_results(s),
        my_registrations=[registration_out(r) for r in selectors.registrations_of(user, s)],
    )


@router.get("/auction-sessions", response=SessionPage, summary="Auction sessions, newest first")
def list_sessions(
    request: HttpRequest, page: int = PAGE, page_size: int = PAGE_SIZE
) -> SessionPage:
    qs = selectors.sessions()
    now = timezone.now()
    rows = list(qs[(page - 1) * page_size : page * page_size])
    return SessionPage(
        total=qs.count(),
        page=page,
        page_size=page_size,
        items=[
            SessionSummary(**_session_summary(s, now, s.open_count, s.lot_count))  # type: ignore[attr-defined]
            for s in rows
        ],
    )


class SessionIn(Schema):
    title: str = Field(max_length=200)
    title_en: str = Field("", max_length=200)
    announcement: str = Field(max_length=10_000)
    viewing_place: str = Field("", max_length=300)
    viewing_starts_at: datetime
    viewing_ends_at: datetime = Field(description="At least 2 days after the viewing starts")
    starts_at: datetime = Field(description="At least 7 days after the announcement (now)")
    sign_days: int = Field(10, description="Days the winner has to sign the confirmation")


@router.post(
    "/auction-sessions",
    response={201: SessionOut},
    auth=AUTH,
    summary="Announce an auction session (operators)",
)
def create_session(request: HttpRequest, payload: SessionIn) -> Any:
    user = acting_user(request)
    session = services.create_session(
        actor=user, data=services.SessionInput(**payload.model_dump())
    )
    return Status(201, session_out(user, session))


@router.get(
    "/auction-sessions/{session_id}",
    response=SessionOut,
    summary="One session with its lots and results",
)
def get_session(request: HttpRequest, session_id: int) -> SessionOut:
    user = current_user(request)
    return session_out(user, selectors.get_session(session_id))


@router.get(
    "/auction-sessions/{session_id}/results",
    response=ResultsOut,
    summary="Lots sold, total value and premium over the starting prices",
)
def session_results(request: HttpRequest, session_id: int) -> ResultsOut:
    session = selectors.get_session(session_id)
    selectors.session_lots(current_user(request), session)  # closes lots whose end passed
    return _results(session)


class LotIn(Schema):
    resource: int = Field(description="An achievement your organisation owns")
    starting_price_fen: int
    increment_fen: int
    reserve_fen: int | None = Field(None, description="Confidential; empty for none")
    deposit_fen: int = 0
    starts_at: datetime
    scheduled_end_at: datetime
    hard_end_at: datetime
    soft_close_minutes: int = 5
    field: str = Field("", description="Contract statistics field; empty: from the catalog")
    terms: str = Field("", max_length=3000)


@router.post(
    "/auction-sessions/{session_id}/lots",
    response={201: LotOut},
    auth=AUTH,
    summary="Offer an achievement as a lot (the owner's members; before the session opens)",
)
def offer_lot(request: HttpRequest, session_id: int, payload: LotIn) -> Any:
    user = acting_user(request)
    data = payload.model_dump()
    data["resource_id"] = data.pop("resource")
    lot = services.offer_lot(actor=user, session_id=session_id, data=services.LotInput(**data))
    return Status(201, lot_out(user, services.get_lot(lot.pk)))


class RegisterIn(Schema):
    organisation: int


@router.post(
    "/auction-sessions/{session_id}/registrations",
    response={201: RegistrationOut},
    auth=AUTH,
    summary="Register your organisation to bid in the session",
)
def register(request: HttpRequest, session_id: int, payload: RegisterIn) -> Any:
    registration = services.register_bidder(
        actor=acting_user(request), session_id=session_id, organisation_id=payload.organisation
    )
    return Status(201, registration_out(registration))


@router.get(
    "/auction-sessions/{session_id}/registrations",
    response=list[RegistrationOut],
    auth=AUTH,
    summary="The session's bidders and their deposits (operators, auditors)",
)
def registrations(request: HttpRequest, session_id: int) -> list[RegistrationOut]:
    session = selectors.get_session(session_id)
    return [
        registration_out(r) for r in selectors.session_registrations(acting_user(request), session)
    ]


class DepositIn(Schema):
    amount_fen: int
    reference: str = Field("", max_length=100)


@router.post(
    "/auction-registrations/{registration_id}/deposit",
    response=RegistrationOut,
    auth=AUTH,
    summary="Record a bidder's deposit (operators)",
)
def record_deposit(
    request: HttpRequest, registration_id: int, payload: DepositIn
) -> RegistrationOut:
    registration = services.record_deposit(
        actor=acting_user(request),
        registration_id=registration_id,
        amount_fen=payload.amount_fen,
        reference=payload.reference,
    )
    return registration_out(registration)


class ReferenceIn(Schema):
    reference: str = Field("", max_length=100)


@router.post(
    "/auction-registrations/{registration_id}/refund",
    response=RegistrationOut,
    auth=AUTH,
    summary="Record that a deposit due for refund was paid back (operators)",
)
def record_refund(
    request: HttpRequest, registration_id: int, payload: ReferenceIn
) -> RegistrationOut:
    registration = services.record_refund(
        actor=acting_user(request), registration_id=registration_id, reference=payload.reference
    )
    return registration_out(registration)


@router.get(
    "/auction-lots/{lot_id}",
    response=LotOut,
    summary="A lot's live state: price, next valid bids, end, bid history",
)
def get_lot(request: HttpRequest, lot_id: int) -> LotOut:
    user = current_user(request)
    return lot_out(user, selectors.get_lot(user, lot_id))


class BidIn(Schema):
    amount_fen: int = Field(
        description="The current price (the starting price for the first bid) plus a whole "
        "number of increments"
    )
    organisation: int | None = Field(
        None, description="Which of your registered organisations bids, if several"
    )


class BidOut(Schema):
    seq: int
    amount_fen: int
    bidder: str
    placed_at: datetime
    lot: LotOut


@router.post(
    "/auction-lots/{lot_id}/bids",
    response={201: BidOut},
    auth=AUTH,
    summary="Place a bid (irrevocable); 409 when another bid came first",
)
def place_bid(request: HttpRequest, lot_id: int, payload: BidIn) -> Any:
    user = acting_user(request)
    bid: Bid = services.place_bid(
        actor=user,
        lot_id=lot_id,
        amount_fen=payload.amount_fen,
        organisation_id=payload.organisation,
    )
    lot = selectors.get_lot(user, lot_id)
    return Status(
        201,
        BidOut(
            seq=bid.seq,
            amount_fen=bid.amount_fen,
            bidder=services.bidder_label(bid.bidder_no),
            placed_at=bid.placed_at,
            lot=lot_out(user, lot),
        ),
    )


class NoteIn(Schema):
    note: str = Field("", max_length=3000)


@router.post(
    "/auction-lots/{lot_id}/approve",
    response=LotOut,
    auth=AUTH,
    summary="Approve a lot (operators)",
)
def approve_lot(request: HttpRequest, lot_id: int, payload: NoteIn) -> LotOut:
    user = acting_user(request)
    lot = services.approve_lot(actor=user, lot_id=lot_id, note=payload.note)
    return lot_out(user, services.get_lot(lot.pk))


class ReasonIn(Schema):
    reason: str = Field(max_length=3000)


@router.post(
    "/auction-lots/{lot_id}/reject", response=LotOut, auth=AUTH, summary="Reject a lot (operators)"
)
def reject_lot(request: HttpRequest, lot_id: int, payload: ReasonIn) -> LotOut:
    user = acting_user(request)
    lot = services.reject_lot(actor=user, lot_id=lot_id, reason=payload.reason)
    return lot_out(user, services.get_lot(lot.pk))


@router.post(
    "/auction-lots/{lot_id}/sign",
    response=LotOut,
    auth=AUTH,
    summary="The winner signs the sale confirmation (成交确认书)",
)
def sign(request: HttpRequest, lot_id: int) -> LotOut:
    user = acting_user(request)
    lot = services.sign_confirmation(actor=user, lot_id=lot_id)
    return lot_out(user, services.get_lot(lot.pk))


class ReofferIn(Schema):
    session: int = Field(description="A session that has not opened yet")
    starting_price_fen: int | None = Field(None, description="Empty: the same as before")


@router.post(
    "/auction-lots/{lot_id}/reoffer",
    response={201: LotOut},
    auth=AUTH,
    summary="Offer an unsold or defaulted lot again (the seller or operators)",
)
def reoffer(request: HttpRequest, lot_id: int, payload: ReofferIn) -> Any:
    user = acting_user(request)
    lot = services.reoffer_lot(
        actor=user,
        lot_id=lot_id,
        session_id=payload.session,
        starting_price_fen=payload.starting_price_fen,
    )
    return Status(201, lot_out(user, services.get_lot(lot.pk)))
