"""Open challenges: issuing, cancelling, and the evaluation panel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation, User
from innocommons.core import audit, notify
from innocommons.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from innocommons.core.models import Region
from innocommons.market.models import (
    MAX_REGION_REWARD_FEN,
    Challenge,
    ChallengeMilestone,
    ContractField,
    Criterion,
    Panelist,
)
from innocommons.market.services.challenges.common import (
    MAX_CRITERIA,
    MAX_MILESTONES,
    ChallengeInput,
    get_challenge,
    require_issuer,
)
from innocommons.market.services.contracts import MAX_FEN

# --- issuing ------------------------------------------------------------------------------


def government_org_for(region: Region) -> Organisation | None:
    """The government organisation nearest to `region`: in the region itself, else the
    closest one below it (a city's agency for a province is not chosen over the province's
    own), verified ones first."""
    from innocommons.market.selectors.contracts import regions_below

    candidates = list(
        Organisation.objects.filter(
            type=Organisation.Type.GOVERNMENT, region_id__in=regions_below([region])
        ).select_related("region")
    )
    depth = {"country": 0, "province": 1, "city": 2, "district": 3}
    candidates.sort(
        key=lambda o: (
            o.region_id != region.code,
            not o.is_verified,
            depth.get(o.region.level, 9),
            o.pk,
        )
    )
    return candidates[0] if candidates else None


def _validate_challenge(data: ChallengeInput, *, by_region: bool) -> None:
    errors: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if not data.title.strip() or len(data.title) > 200:
        bad("title", _("Enter a title (at most 200 characters)."))
    if not data.problem.strip() or len(data.problem) > 10_000:
        bad("problem", _("Describe the problem (at most 10,000 characters)."))
    if not data.expected_results.strip() or len(data.expected_results) > 10_000:
        bad("expected_results", _("Describe the expected results (at most 10,000 characters)."))
    if len(data.eligibility) > 3000:
        bad("eligibility", _("At most 3,000 characters."))
    if data.field not in ContractField.values:
        bad("field", _("Choose the technology field."))
    reward_ok = (
        isinstance(data.reward_fen, int)
        and not isinstance(data.reward_fen, bool)
        and 0 < data.reward_fen <= MAX_FEN
    )
    if not reward_ok:
        bad("reward_fen", _("Enter the reward: more than zero."))
    elif by_region and data.reward_fen > MAX_REGION_REWARD_FEN:
        bad(
            "reward_fen",
            _("A region's challenge funds at most ¥%(cap)s.")
            % {"cap": f"{MAX_REGION_REWARD_FEN // 100:,}"},
        )
    if not isinstance(data.deadline, datetime) or timezone.is_naive(data.deadline):
        bad("deadline", _("Enter the deadline as a date and time."))
    elif data.deadline <= timezone.now():
        bad("deadline", _("The deadline must be in the future."))
    if not isinstance(data.notice_days, int) or not 1 <= data.notice_days <= 30:
        bad("notice_days", _("The public notice lasts 1 to 30 days."))

    if not 1 <= len(data.milestones) <= MAX_MILESTONES:
        bad("milestones", _("Plan 1 to 20 milestones."))
    else:
        total = 0
        for i, m in enumerate(data.milestones, start=1):
            if not m.title.strip() or len(m.title) > 200:
                bad("milestones", _("Milestone %(n)d: enter a title.") % {"n": i})
            if not isinstance(m.amount_fen, int) or m.amount_fen <= 0:
                bad("milestones", _("Milestone %(n)d: enter an amount above zero.") % {"n": i})
            else:
                total += m.amount_fen
            if (
                m.due_on is not None
                and isinstance(data.deadline, datetime)
                and m.due_on < timezone.localdate(data.deadline)
            ):
                bad("milestones", _("Milestone %(n)d: due before the deadline.") % {"n": i})
        if reward_ok and total != data.reward_fen:
            bad(
                "milestones",
                _("The milestones add up to ¥%(sum)s; they must add up to the reward, ¥%(reward)s.")
                % {"sum": f"{total / 100:,.2f}", "reward": f"{data.reward_fen / 100:,.2f}"},
            )

    if not 1 <= len(data.criteria) <= MAX_CRITERIA:
        bad("criteria", _("Publish 1 to 10 evaluation criteria."))
    else:
        names = [c.name.strip() for c in data.criteria]
        if any(not n or len(n) > 200 for n in names) or len(set(names)) != len(names):
            bad("criteria", _("Give each criterion a distinct name."))
        weights = [c.weight for c in data.criteria]
        if any(not isinstance(w, int) or not 1 <= w <= 100 for w in weights):
            bad("criteria", _("Each weight is a whole percentage from 1 to 100."))
        elif sum(weights) != 100:
            bad(
                "criteria",
                _("The weights add up to %(sum)d%%; they must add up to 100%%.")
                % {"sum": sum(weights)},
            )
    if errors:
        raise ValidationFailed(errors)


def _resolve_issuer(actor: Any, data: ChallengeInput) -> tuple[Organisation, Region, bool]:
    if data.region:
        region = Region.objects.filter(code=data.region).first()
        if region is None:
            raise DomainError(_("Unknown region code."), field="region")
        if not perms.administers_region(actor, region):
            raise PermissionDenied(
                _("Only the region's administrators issue challenges for it."), field="region"
            )
        if data.issuer_org_id is not None:
            org = (
                Organisation.objects.select_related("region").filter(pk=data.issuer_org_id).first()
            )
            if (
                org is None
                or org.type != Organisation.Type.GOVERNMENT
                or not org.region.is_within(region)
            ):
                raise DomainError(
                    _("Choose a government organisation of %(region)s.") % {"region": region.name},
                    field="issuer_org",
                )
        else:
            org = government_org_for(region)
            if org is None:
                raise DomainError(
                    _(
                        "%(region)s has no government organisation on the platform to fund the "
                        "award; register the issuing agency as an organisation first."
                    )
                    % {"region": region.name},
                    field="issuer_org",
                    status=409,
                )
        return org, region, True
    if data.issuer_org_id is None or not perms.is_member(actor, data.issuer_org_id):
        raise PermissionDenied(
            _("Issue a challenge for an enterprise you are a member of."), field="issuer_org"
        )
    org = Organisation.objects.select_related("region").get(pk=data.issuer_org_id)
    if org.type != Organisation.Type.ENTERPRISE:
        raise PermissionDenied(
            _("Challenges are issued by enterprises (or by a regional administration)."),
            field="issuer_org",
        )
    if not org.is_verified:
        raise PermissionDenied(
            _("The organisation must be verified before it can issue challenges."),
            field="issuer_org",
        )
    return org, org.region, False


def create_challenge(*, actor: Any, data: ChallengeInput) -> Challenge:
    """Publish a challenge with its milestones and criteria (published with it)."""
    org, region, by_region = _resolve_issuer(actor, data)
    _validate_challenge(data, by_region=by_region)
    with transaction.atomic(durable=True):
        challenge = Challenge.objects.create(
            title=data.title.strip(),
            problem=data.problem.strip(),
            expected_results=data.expected_results.strip(),
            eligibility=data.eligibility.strip(),
            field=data.field,
            issuer_org=org,
            issued_by_region=by_region,
            region=region,
            reward_fen=data.reward_fen,
            deadline=data.deadline,
            notice_days=data.notice_days,
            created_by=actor,
        )
        ChallengeMilestone.objects.bulk_create(
            ChallengeMilestone(
                challenge=challenge,
                seq=i,
                title=m.title.strip(),
                amount_fen=m.amount_fen,
                due_on=m.due_on,
            )
            for i, m in enumerate(data.milestones, start=1)
        )
        Criterion.objects.bulk_create(
            Criterion(challenge=challenge, seq=i, name=c.name.strip(), weight=c.weight)
            for i, c in enumerate(data.criteria, start=1)
        )
        audit.record(
            actor=actor,
            action="market.challenge.create",
            target=challenge,
            after={
                "reward_fen": data.reward_fen,
                "issuer_org": org.pk,
                "by_region": by_region,
                "deadline": data.deadline.isoformat(),
                "milestones": [m.amount_fen for m in data.milestones],
                "criteria": {c.name: c.weight for c in data.criteria},
            },
            region=region,
        )
    return challenge


def cancel_challenge(*, actor: Any, challenge_id: int, reason: str) -> Challenge:
    """The issuer withdraws a challenge before the award (reason required, published)."""
    challenge = get_challenge(challenge_id)
    require_issuer(actor, challenge)
    reason = (reason or "").strip()
    if not reason or len(reason) > 3000:
        raise DomainError(_("Give the reason (at most 3,000 characters)."), field="reason")
    with transaction.atomic(durable=True):
        updated = Challenge.objects.filter(
            pk=challenge.pk, status__in=[Challenge.Status.OPEN, Challenge.Status.NOTICE]
        ).update(status=Challenge.Status.CANCELLED, cancel_reason=reason)
        if updated != 1:
            raise DomainError(_("An awarded challenge cannot be cancelled."), status=409)
        audit.record(
            actor=actor,
            action="market.challenge.cancel",
            target=challenge,
            before={"status": challenge.status},
            after={"status": Challenge.Status.CANCELLED},
            region=challenge.region,
            note=reason[:500],
        )
    challenge.refresh_from_db()
    return challenge


# --- the panel ----------------------------------------------------------------------------


def invite_panelist(*, actor: Any, challenge_id: int, username: str) -> Panelist:
    """The issuer invites an expert (a user of the platform) to the evaluation panel."""
    challenge = get_challenge(challenge_id)
    require_issuer(actor, challenge)
    if challenge.status != Challenge.Status.OPEN:
        raise DomainError(_("The panel is fixed once a winner is selected."), status=409)
    user = User.objects.filter(username=(username or "").strip()[:150], is_active=True).first()
    if user is None:
        raise DomainError(_("No active user with that user name."), field="username")
    try:
        with transaction.atomic(durable=True):
            panelist = Panelist.objects.create(challenge=challenge, user=user, invited_by=actor)
            audit.record(
                actor=actor,
                action="market.challenge.panel.invite",
                target=challenge,
                after={"panelist": user.pk},
                region=challenge.region,
            )
            notify.notify(
                [user],
                kind="market.challenge.panel",
                title=_("You are invited to evaluate “%(title)s”") % {"title": challenge.title},
                body=_("Proposals can be scored after the deadline."),
                link=reverse("market:challenge_review", args=[challenge.pk]),
            )
    except IntegrityError:
        raise DomainError(
            _("This user is already on the panel."), field="username", status=409
        ) from None
    return panelist


def remove_panelist(*, actor: Any, challenge_id: int, panelist_id: int) -> None:
    """The issuer removes a panelist who has not scored anything yet."""
    challenge = get_challenge(challenge_id)
    require_issuer(actor, challenge)
    panelist = Panelist.objects.filter(pk=panelist_id, challenge=challenge).first()
    if panelist is None:
        raise NotFound(_("No such panelist."))
    if challenge.status != Challenge.Status.OPEN or panelist.sheets.exists():
        raise DomainError(_("A panelist who has scored stays on the panel."), status=409)
    with transaction.atomic(durable=True):
        audit.record(
            actor=actor,
            action="market.challenge.panel.remove",
            target=challenge,
            before={"panelist": panelist.user_id},
            region=challenge.region,
        )
        panelist.delete()
