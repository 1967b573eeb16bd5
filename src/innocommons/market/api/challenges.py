"""JSON API: open challenges (揭榜挂帅), mounted under /api/v1/.

Amounts are integer fen; times ISO 8601. Challenges, criteria, milestones and a selected
winner are public; proposals are sealed until the deadline (then the issuer, the panel and
auditors read them); a panelist sees only its own score sheets. Every write calls one
service, which checks the permission.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH
from innocommons.core.errors import NotFound
from innocommons.core.uploads import download
from innocommons.market.models import NOTICE_DAYS_DEFAULT, Challenge, Proposal
from innocommons.market.selectors import challenges as selectors
from innocommons.market.services import challenges as services

router = Router(tags=["challenges"])

PAGE = Query(1, ge=1, le=10_000)
PAGE_SIZE = Query(20, ge=1, le=100)


class CriterionOut(Schema):
    id: int
    name: str
    weight: int = Field(description="Percent; the weights sum to 100")


class MilestoneOut(Schema):
    id: int
    seq: int
    title: str
    amount_fen: int
    due_on: date | None
    status: str
    released_fen: int
    accepted_at: datetime | None


class OrgRef(Schema):
    id: int
    name: str
    region: str
    region_name: str


class WinnerOut(Schema):
    proposal: int
    title: str
    lead_org: OrgRef
    partners: list[OrgRef]
    selected_at: datetime | None
    notice_until: datetime | None
    reason: str


class ChallengeOut(Schema):
    id: int
    title: str
    problem: str
    expected_results: str
    eligibility: str
    field: str
    issuer_org: OrgRef
    issued_by_region: bool
    region: str
    region_name: str
    reward_fen: int
    deadline: datetime
    notice_days: int
    status: str
    phase: str = Field(description="open | evaluation | notice | awarded | completed | cancelled")
    criteria: list[CriterionOut]
    milestones: list[MilestoneOut]
    released_fen: int
    winner: WinnerOut | None
    contract: int | None
    cancel_reason: str
    url: str


class ChallengeSummary(Schema):
    id: int
    title: str
    issuer_name: str
    region: str
    reward_fen: int
    deadline: datetime
    phase: str
    url: str


class ChallengePage(Schema):
    total: int
    page: int
    page_size: int
    items: list[ChallengeSummary]


def _org(o: Any) -> dict[str, Any]:
    return {"id": o.pk, "name": o.name, "region": o.region_id, "region_name": o.region.name}


def challenge_out(c: Challenge) -> dict[str, Any]:
    milestones, released = selectors.milestones(c)
    winner = None
    if c.selected_id is not None and c.selected is not None:
        p = c.selected
        winner = {
            "proposal": p.pk,
            "title": p.title,
            "lead_org": _org(p.lead_org),
            "partners": [_org(o) for o in p.partners.select_related("region")],
            "selected_at": c.selected_at,
            "notice_until": c.notice_until,
            "reason": c.selection_reason,
        }
    return {
        "id": c.pk,
        "title": c.title,
        "problem": c.problem,
        "expected_results": c.expected_results,
        "eligibility": c.eligibility,
        "field": c.field,
        "issuer_org": _org(c.issuer_org),
        "issued_by_region": c.issued_by_region,
        "region": c.region_id,
        "region_name": c.region.name,
        "reward_fen": c.reward_fen,
        "deadline": c.deadline,
        "notice_days": c.notice_days,
        "status": c.status,
        "phase": c.phase,
        "criteria": [{"id": k.pk, "name": k.name, "weight": k.weight} for k in c.criteria.all()],
        "milestones": [
            {
                "id": m.pk,
                "seq": m.seq,
                "title": m.title,
                "amount_fen": m.amount_fen,
                "due_on": m.due_on,
                "status": m.status,
                "released_fen": m.released_fen,
                "accepted_at": m.accepted_at,
            }
            for m in milestones
        ],
        "released_fen": released,
        "winner": winner,
        "contract": c.contract_id,
        "cancel_reason": c.cancel_reason,
        "url": f"/market/challenges/{c.pk}/",
    }


def _get(challenge_id: int) -> dict[str, Any]:
    return challenge_out(selectors.get_challenge(challenge_id))


class MilestoneIn(Schema):
    title: str = Field(max_length=200)
    amount_fen: int
    due_on: date | None = None


class CriterionIn(Schema):
    name: str = Field(max_length=200)
    weight: int


class ChallengeIn(Schema):
    title: str = Field(max_length=200)
    problem: str = Field(max_length=10_000)
    expected_results: str = Field(max_length=10_000)
    eligibility: str = Field(
        "",
        max_length=3000,
        description="Free text. No limits on the applicant's age, title or years registered.",
    )
    field: str
    reward_fen: int
    deadline: datetime
    notice_days: int = NOTICE_DAYS_DEFAULT
    milestones: list[MilestoneIn] = Field(description="Amounts sum to the reward")
    criteria: list[CriterionIn] = Field(description="Weights sum to 100")
    issuer_org: int | None = Field(
        None, description="Your enterprise; for a region's challenge a government organisation"
    )
    region: str = Field("", description="Issue for this region (regional administrators)")


class ReasonIn(Schema):
    reason: str = Field(max_length=3000)


class PanelIn(Schema):
    username: str = Field(max_length=150)


class PanelistOut(Schema):
    id: int
    user: int
    username: str
    name: str


class ProposalIn(Schema):
    lead_org: int
    title: str = Field(max_length=200)
    summary: str = Field(max_length=10_000)
    team: str = Field("", max_length=3000)
    partners: list[int] = []


class ProposalUpdate(Schema):
    title: str = Field(max_length=200)
    summary: str = Field(max_length=10_000)
    team: str = Field("", max_length=3000)
    partners: list[int] = []


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    url: str


class ProposalOut(Schema):
    id: int
    challenge: int
    title: str
    summary: str
    team: str
    status: str
    lead_org: OrgRef
    partners: list[OrgRef]
    submitted_at: datetime
    attachments: list[AttachmentOut]


class ScoreIn(Schema):
    points: dict[str, int] = Field(description="criterion id → points 0–100, every criterion")
    comment: str = Field("", max_length=3000)


class SheetOut(Schema):
    proposal: int
    weighted: Decimal
    points: dict[str, int]
    comment: str


class PanelItemOut(Schema):
    proposal: ProposalOut
    conflicted: bool = Field(description="You are a member of a proposing organisation")
    my_sheet: SheetOut | None


class RankOut(Schema):
    rank: int | None
    proposal: int
    title: str
    lead_org: OrgRef
    average: Decimal | None
    sheets: int
    excluded: int


class SelectIn(Schema):
    proposal: int
    reason: str = Field("", max_length=3000)


class ObjectionIn(Schema):
    text: str = Field(max_length=5000)


class ObjectionOut(Schema):
    id: int
    text: str
    created_at: datetime


class NoteIn(Schema):
    note: str = Field("", max_length=3000)


def proposal_out(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.pk,
        "challenge": p.challenge_id,
        "title": p.title,
        "summary": p.summary,
        "team": p.team,
        "status": p.status,
        "lead_org": _org(p.lead_org),
        "partners": [_org(o) for o in p.partners.all()],
        "submitted_at": p.submitted_at,
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "size": a.size,
                "url": f"/api/v1/challenges/proposals/{p.pk}/attachments/{a.pk}",
            }
            for a in p.attachments.all()
        ],
    }


@router.get("/challenges", response=ChallengePage, summary="Challenges")
def list_challenges(
    request: HttpRequest,
    phase: str = "",
    q: str = Query("", max_length=100),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
) -> Any:
    qs = selectors.challenges(phase=phase, q=q)
    total = qs.count()
    rows = qs[(page - 1) * page_size : page * page_size]
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [
            {
                "id": c.pk,
                "title": c.title,
                "issuer_name": c.issuer_org.name,
                "region": c.region_id,
                "reward_fen": c.reward_fen,
                "deadline": c.deadline,
                "phase": c.phase,
                "url": f"/market/challenges/{c.pk}/",
            }
            for c in rows
        ],
    }


@router.post("/challenges", response={201: ChallengeOut}, auth=AUTH, summary="Issue a challenge")
def create_challenge(request: HttpRequest, payload: ChallengeIn) -> Any:
    data = services.ChallengeInput(
        title=payload.title,
        problem=payload.problem,
        expected_results=payload.expected_results,
        eligibility=payload.eligibility,
        field=payload.field,
        reward_fen=payload.reward_fen,
        deadline=payload.deadline,
        notice_days=payload.notice_days,
        milestones=[
            services.MilestoneInput(m.title, m.amount_fen, m.due_on) for m in payload.milestones
        ],
        criteria=[services.CriterionInput(c.name, c.weight) for c in payload.criteria],
        issuer_org_id=payload.issuer_org,
        region=payload.region,
    )
    challenge = services.create_challenge(actor=acting_user(request), data=data)
    return Status(201, _get(challenge.pk))


@router.get("/challenges/{challenge_id}", response=ChallengeOut, summary="A challenge")
def get_challenge(request: HttpRequest, challenge_id: int) -> Any:
    return _get(challenge_id)


@router.post("/challenges/{challenge_id}/cancel", response=ChallengeOut, auth=AUTH)
def cancel(request: HttpRequest, challenge_id: int, payload: ReasonIn) -> Any:
    """The issuer cancels before the award (reason published)."""
    services.cancel_challenge(
        actor=acting_user(request), challenge_id=challenge_id, reason=payload.reason
    )
    return _get(challenge_id)


@router.get("/challenges/{challenge_id}/panel", response=list[PanelistOut], auth=AUTH)
def get_panel(request: HttpRequest, challenge_id: int) -> Any:
    user = acting_user(request)
    challenge = selectors.get_challenge(challenge_id)
    return [
        {"id": p.pk, "user": p.user_id, "username": p.user.username, "name": str(p.user)}
        for p in selectors.panel(user, challenge)
    ]


@router.post(
    "/challenges/{challenge_id}/panel", response={201: PanelistOut}, auth=AUTH, summary="Invite"
)
def invite(request: HttpRequest, challenge_id: int, payload: PanelIn) -> Any:
    """The issuer invites an expert (by user name) to the evaluation panel."""
    p = services.invite_panelist(
        actor=acting_user(request), challenge_id=challenge_id, username=payload.username
    )
    return Status(
        201, {"id": p.pk, "user": p.user_id, "username": p.user.username, "name": str(p.user)}
    )


@router.delete("/challenges/{challenge_id}/panel/{panelist_id}", response={204: None}, auth=AUTH)
def remove(request: HttpRequest, challenge_id: int, panelist_id: int) -> Any:
    services.remove_panelist(
        actor=acting_user(request), challenge_id=challenge_id, panelist_id=panelist_id
    )
    return Status(204, None)


@router.get("/challenges/{challenge_id}/proposals", response=list[ProposalOut], auth=AUTH)
def list_proposals(request: HttpRequest, challenge_id: int) -> Any:
    """Your organisations' proposals; after the deadline, for the issuer, the panel and
    auditors, every submitted proposal."""
    user = acting_user(request)
    challenge = selectors.get_challenge(challenge_id)
    return [proposal_out(p) for p in selectors.visible_proposals(user, challenge)]


@router.post(
    "/challenges/{challenge_id}/proposals",
    response={201: ProposalOut},
    auth=AUTH,
    summary="Submit a proposal",
)
def submit_proposal(request: HttpRequest, challenge_id: int, payload: ProposalIn) -> Any:
    user = acting_user(request)
    p = services.submit_proposal(
        actor=user,
        challenge_id=challenge_id,
        lead_org_id=payload.lead_org,
        title=payload.title,
        summary=payload.summary,
        team=payload.team,
        partner_ids=payload.partners,
    )
    return Status(201, proposal_out(selectors.get_proposal(user, p.pk)))


@router.get("/challenges/{challenge_id}/review", response=list[PanelItemOut], auth=AUTH)
def review(request: HttpRequest, challenge_id: int) -> Any:
    """A panelist's view: the proposals and its own score sheets only."""
    user = acting_user(request)
    challenge = selectors.get_challenge(challenge_id)
    return [
        {
            "proposal": proposal_out(item.proposal),
            "conflicted": item.conflicted,
            "my_sheet": {
                "proposal": item.proposal.pk,
                "weighted": item.sheet.weighted,
                "points": {str(k): v for k, v in item.points.items()},
                "comment": item.sheet.comment,
            }
            if item.sheet
            else None,
        }
        for item in selectors.panel_items(user, challenge)
    ]


@router.get("/challenges/{challenge_id}/ranking", response=list[RankOut], auth=AUTH)
def ranking(request: HttpRequest, challenge_id: int) -> Any:
    """The issuer's ranking by average weighted score (conflicted sheets excluded)."""
    user = acting_user(request)
    challenge = selectors.get_challenge(challenge_id)
    return [
        {
            "rank": r.rank,
            "proposal": r.proposal.pk,
            "title": r.proposal.title,
            "lead_org": _org(r.proposal.lead_org),
            "average": r.average,
            "sheets": r.sheets,
            "excluded": r.excluded,
        }
        for r in selectors.ranking(user, challenge)
    ]


@router.post("/challenges/{challenge_id}/select", response=ChallengeOut, auth=AUTH)
def select(request: HttpRequest, challenge_id: int, payload: SelectIn) -> Any:
    """The issuer selects the winner; public notice for `notice_days` days."""
    services.select_winner(
        actor=acting_user(request),
        challenge_id=challenge_id,
        proposal_id=payload.proposal,
        reason=payload.reason,
    )
    return _get(challenge_id)


@router.post("/challenges/{challenge_id}/unselect", response=ChallengeOut, auth=AUTH)
def unselect(request: HttpRequest, challenge_id: int, payload: ReasonIn) -> Any:
    services.withdraw_selection(
        actor=acting_user(request), challenge_id=challenge_id, reason=payload.reason
    )
    return _get(challenge_id)


@router.post("/challenges/{challenge_id}/objections", response={201: ObjectionOut}, auth=AUTH)
def object_(request: HttpRequest, challenge_id: int, payload: ObjectionIn) -> Any:
    """Anyone signed in, during the public notice."""
    o = services.object_to_selection(
        actor=acting_user(request), challenge_id=challenge_id, text=payload.text
    )
    return Status(201, {"id": o.pk, "text": o.text, "created_at": o.created_at})


@router.get("/challenges/{challenge_id}/objections", response=list[ObjectionOut], auth=AUTH)
def list_objections(request: HttpRequest, challenge_id: int) -> Any:
    user = acting_user(request)
    challenge = selectors.get_challenge(challenge_id)
    return [
        {"id": o.pk, "text": o.text, "created_at": o.created_at}
        for o in selectors.objections(user, challenge)
    ]


@router.post("/challenges/{challenge_id}/award", response=ChallengeOut, auth=AUTH)
def award(request: HttpRequest, challenge_id: int) -> Any:
    """After the notice: the draft development contract and the milestone plan."""
    services.award_challenge(actor=acting_user(request), challenge_id=challenge_id)
    return _get(challenge_id)


@router.post("/challenges/milestones/{milestone_id}/accept", response=MilestoneOut, auth=AUTH)
def accept_milestone(request: HttpRequest, milestone_id: int, payload: NoteIn) -> Any:
    """The issuer accepts a milestone, releasing its amount (once)."""
    m = services.accept_milestone(
        actor=acting_user(request), milestone_id=milestone_id, note=payload.note
    )
    return {
        "id": m.pk,
        "seq": m.seq,
        "title": m.title,
        "amount_fen": m.amount_fen,
        "due_on": m.due_on,
        "status": m.status,
        "released_fen": m.released_fen,
        "accepted_at": m.accepted_at,
    }


@router.get("/challenges/proposals/{proposal_id}", response=ProposalOut, auth=AUTH)
def get_proposal(request: HttpRequest, proposal_id: int) -> Any:
    return proposal_out(selectors.get_proposal(acting_user(request), proposal_id))


@router.put("/challenges/proposals/{proposal_id}", response=ProposalOut, auth=AUTH)
def update_proposal(request: HttpRequest, proposal_id: int, payload: ProposalUpdate) -> Any:
    user = acting_user(request)
    services.update_proposal(
        actor=user,
        proposal_id=proposal_id,
        title=payload.title,
        summary=payload.summary,
        team=payload.team,
        partner_ids=payload.partners,
    )
    return proposal_out(selectors.get_proposal(user, proposal_id))


@router.post("/challenges/proposals/{proposal_id}/withdraw", response=ProposalOut, auth=AUTH)
def withdraw_proposal(request: HttpRequest, proposal_id: int) -> Any:
    user = acting_user(request)
    services.withdraw_proposal(actor=user, proposal_id=proposal_id)
    return proposal_out(selectors.get_proposal(user, proposal_id))


@router.post(
    "/challenges/proposals/{proposal_id}/attachments",
    response={201: AttachmentOut},
    auth=AUTH,
)
def attach(request: HttpRequest, proposal_id: int, file: File[UploadedFile]) -> Any:
    """PDF, Word, Excel, PNG, JPEG or ZIP (by content), at most 20 MiB, before the deadline."""
    a = services.add_attachment(actor=acting_user(request), proposal_id=proposal_id, file=file)
    return Status(
        201,
        {
            "id": a.pk,
            "name": a.name,
            "size": a.size,
            "url": f"/api/v1/challenges/proposals/{proposal_id}/attachments/{a.pk}",
        },
    )


@router.get("/challenges/proposals/{proposal_id}/attachments/{attachment_id}", auth=AUTH)
def download_attachment(
    request: HttpRequest, proposal_id: int, attachment_id: int
) -> HttpResponseBase:
    proposal = selectors.get_proposal(acting_user(request), proposal_id)
    attachment = next((a for a in proposal.attachments.all() if a.pk == attachment_id), None)
    if attachment is None:
        raise NotFound(_("No such attachment."))
    return download(attachment.file, attachment.name)


@router.post("/challenges/proposals/{proposal_id}/score", response=SheetOut, auth=AUTH)
def score(request: HttpRequest, proposal_id: int, payload: ScoreIn) -> Any:
    """A panelist scores every criterion 0–100 after the deadline; again replaces it."""
    sheet = services.score_proposal(
        actor=acting_user(request),
        proposal_id=proposal_id,
        points=dict(payload.points),
        comment=payload.comment,
    )
    return {
        "proposal": proposal_id,
        "weighted": sheet.weighted,
        "points": {str(s.criterion_id): s.points for s in sheet.scores.all()},
        "comment": sheet.comment,
    }
