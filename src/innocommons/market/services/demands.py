"""Technology demands: post, edit, publish and close them; alert the providers whose
listings match a newly published demand; interest that opens a conversation thread; expiry.

Rules:
- enterprises post demands; only members of the posting organisation change them, and
  only until they are closed; a pending organisation may prepare drafts, a verified one
  publishes;
- draft → published → closed (solved or withdrawn by the poster, expired by the job once
  the deadline has passed); each transition is a conditional UPDATE, so two requests
  cannot both make it;
- every save stores the demand's key terms (`DemandTerm`), the index that finds demands for
  a listing;
- on publication (after the commit) the organisations whose listings match at or above
  `scoring.ALERT_THRESHOLD` are alerted once — one `DemandAlert` row each, one inbox
  message per member, in one batch;
- a verified organisation other than the poster may express interest in an open demand:
  that opens the one thread of (demand, organisation), or adds to it; only the two
  organisations' members write in it (auditors also read it), and each message notifies
  the other side.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation, User
from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Resource, Status, Term
from innocommons.core import audit, notify
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.models import Region
from innocommons.market.matching import matcher, scoring
from innocommons.market.models import Demand, DemandAlert, DemandTerm, Message, Thread

log = logging.getLogger(__name__)

MAX_FEN = 10**13  # 1000 亿 yuan: anything above is a typo, far below BIGINT
MAX_ALERTS = 50  # organisations alerted per demand at most (the best ones)
ALERT_CANDIDATES = 200
KEYWORD_SPLIT = re.compile(r"[;；,，、\n]+")
TEXT_LIMITS = {
    "title_zh": 200,
    "title_en": 200,
    "summary_zh": 3000,
    "summary_en": 3000,
    "details_zh": 10_000,
    "details_en": 10_000,
    "keywords": 500,
}


@dataclass(frozen=True)
class DemandInput:
    """Everything a demand says. Amounts in fen; `keywords` separated by ; ， 、 or a list."""

    organisation_id: int
    title_zh: str
    summary_zh: str
    field: str  # tech_field code, e.g. "0603"
    deadline: date
    title_en: str = ""
    summary_en: str = ""
    details_zh: str = ""
    details_en: str = ""
    keywords: str | Sequence[str] = ""
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    min_trl: int | None = None
    region: str = ""  # default: the organisation's region
    confidentiality: str = Demand.Confidentiality.VERIFIED


EDITABLE = tuple(f.name for f in fields(DemandInput) if f.name != "organisation_id")


def _keywords(value: str | Sequence[str]) -> str:
    items = KEYWORD_SPLIT.split(value) if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        word = str(item).strip()
        if word:
            seen.setdefault(word[:40], None)
    return ";".join(seen)


def _amount(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError(_("Enter an amount in fen as a whole number."), field=name)
    if value < 0:
        raise DomainError(_("The amount cannot be negative."), field=name)
    if value > MAX_FEN:
        raise DomainError(_("The amount is too large."), field=name)
    return value


@dataclass(frozen=True)
class _Clean:
    values: dict[str, Any]
    field: Term
    region: Region


def _validate(data: DemandInput, organisation: Organisation) -> _Clean:
    values: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        raw = getattr(data, name)
        text = _keywords(raw) if name == "keywords" else str(raw or "").strip()
        if len(text) > limit:
            raise DomainError(
                _("At most %(n)d characters.") % {"n": limit},
                field=name,
            )
        values[name] = text
    if not values["title_zh"]:
        raise DomainError(_("Enter the Chinese title."), field="title_zh")
    if not values["summary_zh"]:
        raise DomainError(_("Describe the problem (in Chinese)."), field="summary_zh")
    term = Term.objects.filter(scheme=Term.Scheme.TECH_FIELD, code=data.field).first()
    if term is None:
        raise DomainError(_("Choose a technology field."), field="field")
    region = Region.objects.filter(code=data.region or organisation.region_id).first()
    if region is None:
        raise DomainError(_("Unknown region code."), field="region")
    if not isinstance(data.deadline, date) or isinstance(data.deadline, datetime):
        raise DomainError(_("Enter the deadline as a date."), field="deadline")
    if data.deadline < timezone.localdate():
        raise DomainError(_("The deadline cannot be in the past."), field="deadline")
    low = _amount(data.budget_min_fen, "budget_min_fen")
    high = _amount(data.budget_max_fen, "budget_max_fen")
    if low is not None and high is not None and low > high:
        raise DomainError(
            _("The budget's lower end cannot exceed its upper end."), field="budget_min_fen"
        )
    trl = data.min_trl
    if trl is not None and (not isinstance(trl, int) or isinstance(trl, bool) or not 1 <= trl <= 9):
        raise DomainError(_("The TRL is a whole number from 1 to 9."), field="min_trl")
    if data.confidentiality not in Demand.Confidentiality.values:
        raise DomainError(_("Choose who may read the details."), field="confidentiality")
    values.update(
        budget_min_fen=low,
        budget_max_fen=high,
        min_trl=trl,
        deadline=data.deadline,
        confidentiality=data.confidentiality,
    )
    return _Clean(values=values, field=term, region=region)


def _poster(actor: Any, organisation_id: int) -> Organisation:
    """The organisation `actor` posts for: a member's enterprise in good standing."""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound(_("Organisation not found."), field="organisation")
    if not perms.is_member(actor, organisation.pk):
        raise PermissionDenied(
            _("Only members of the organisation can post its demands."), field="organisation"
        )
    if organisation.type != Organisation.Type.ENTERPRISE:
        raise PermissionDenied(_("Technology demands are posted by enterprises."))
    if organisation.status in HIDDEN_OWNER_STATUSES:
        raise PermissionDenied(_("The organisation is suspended or rejected."))
    return organisation


def refresh_terms(demand: Demand) -> list[DemandTerm]:
    """Store the demand's key terms (the reverse index for "demands for this listing")."""
    terms = matcher.key_terms(demand)
    DemandTerm.objects.filter(demand=demand).delete()
    return DemandTerm.objects.bulk_create(
        [DemandTerm(demand=demand, token=t.token, label=t.label, weight=t.weight) for t in terms]
    )


def _snapshot(demand: Demand) -> dict[str, Any]:
    return {
        "title_zh": demand.title_zh,
        "field": demand.field.code,
        "budget_min_fen": demand.budget_min_fen,
        "budget_max_fen": demand.budget_max_fen,
        "min_trl": demand.min_trl,
        "deadline": demand.deadline.isoformat(),
        "region": demand.region_id,
        "confidentiality": demand.confidentiality,
        "status": demand.status,
    }


def create_demand(*, actor: User, data: DemandInput, publish: bool = False) -> Demand:
    """A member of an enterprise posts a demand (a draft unless `publish`)."""
    organisation = _poster(actor, data.organisation_id)
    clean = _validate(data, organisation)
    with transaction.atomic():
        demand = Demand.objects.create(
            organisation=organisation,
            field=clean.field,
            region=clean.region,
            created_by=actor,
            **clean.values,
        )
        refresh_terms(demand)
        audit.record(
            actor=actor,
            action="market.demand.create",
            target=demand,
            region=demand.region,
            after=_snapshot(demand),
        )
        if publish:
            _publish(actor, demand)
    return demand


def _editable(actor: Any, demand_id: int) -> Demand:
    demand = (
        Demand.objects.select_for_update(of=("self",))
        .select_related("organisation", "field", "region")
        .filter(pk=demand_id)
        .first()
    )
    if demand is None:
        raise NotFound(_("Demand not found."))
    if not perms.is_member(actor, demand.organisation_id):
        raise PermissionDenied(_("Only the posting organisation can change its demand."))
    return demand


def current_input(demand: Demand) -> DemandInput:
    return DemandInput(
        organisation_id=demand.organisation_id,
        title_zh=demand.title_zh,
        title_en=demand.title_en,
        summary_zh=demand.summary_zh,
        summary_en=demand.summary_en,
        details_zh=demand.details_zh,
        details_en=demand.details_en,
        keywords=demand.keywords,
        field=demand.field.code,
        deadline=demand.deadline,
        budget_min_fen=demand.budget_min_fen,
        budget_max_fen=demand.budget_max_fen,
        min_trl=demand.min_trl,
        region=demand.region_id,
        confidentiality=demand.confidentiality,
    )


def update_demand(*, actor: User, demand_id: int, changes: Mapping[str, Any]) -> Demand:
    """Change a draft or published demand; keys missing from `changes` keep their values."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise DomainError(_("This field cannot be changed."), field=sorted(unknown)[0])
    with transaction.atomic():
        demand = _editable(actor, demand_id)
        if demand.status == Demand.Status.CLOSED:
            raise DomainError(_("A closed demand can no longer be changed."), status=409)
        before = _snapshot(demand)
        clean = _validate(replace(current_input(demand), **changes), demand.organisation)
        for name, value in clean.values.items():
            setattr(demand, name, value)
        demand.field = clean.field
        demand.region = clean.region
        demand.save()
        refresh_terms(demand)
        audit.record(
            actor=actor,
            action="market.demand.update",
            target=demand,
            region=demand.region,
            before=before,
            after={**_snapshot(demand), "fields": sorted(changes)},
        )
    return demand


def _publish(actor: Any, demand: Demand) -> None:
    if demand.organisation.status != Organisation.Status.VERIFIED:
        raise DomainError(
            _("The organisation must be verified before it can publish demands."),
            field="status",
            status=409,
        )
    if demand.deadline < timezone.localdate():
        raise DomainError(_("The deadline has passed: change it first."), field="deadline")
    now = timezone.now()
    if not Demand.objects.filter(pk=demand.pk, status=Demand.Status.DRAFT).update(
        status=Demand.Status.PUBLISHED, published_at=now, updated_at=now
    ):
        raise DomainError(_("Only a draft can be published."), field="status", status=409)
    demand.status, demand.published_at = Demand.Status.PUBLISHED, now
    audit.record(
        actor=actor,
        action="market.demand.publish",
        target=demand,
        region=demand.region,
        before={"status": Demand.Status.DRAFT},
        after={"status": Demand.Status.PUBLISHED},
    )
    demand_id = demand.pk
    transaction.on_commit(lambda: _alert_after_commit(demand_id))


def publish_demand(*, actor: User, demand_id: int) -> Demand:
    """Publish a draft; the matching providers are alerted after the commit."""
    with transaction.atomic():
        demand = _editable(actor, demand_id)
        _publish(actor, demand)
    return demand


def close_demand(*, actor: User, demand_id: int, outcome: str) -> Demand:
    """The poster closes its published demand as solved or withdrawn."""
    if outcome not in (Demand.Outcome.SOLVED, Demand.Outcome.WITHDRAWN):
        raise DomainError(_("Close a demand as solved or withdrawn."), field="outcome")
    with transaction.atomic():
        demand = _editable(actor, demand_id)
        now = timezone.now()
        if not Demand.objects.filter(pk=demand.pk, status=Demand.Status.PUBLISHED).update(
            status=Demand.Status.CLOSED, outcome=outcome, closed_at=now, updated_at=now
        ):
            raise DomainError(
                _("Only a published demand can be closed."), field="status", status=409
            )
        demand.status, demand.outcome, demand.closed_at = Demand.Status.CLOSED, outcome, now
        audit.record(
            actor=actor,
            action="market.demand.close",
            target=demand,
            region=demand.region,
            before={"status": Demand.Status.PUBLISHED},
            after={"status": Demand.Status.CLOSED, "outcome": outcome},
        )
    return demand


def expire_demands(*, today: date | None = None) -> int:
    """Close every published demand whose deadline has passed, as expired."""
    today = today or timezone.localdate()
    due = list(
        Demand.objects.filter(status=Demand.Status.PUBLISHED, deadline__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    for demand_id in due:
        with transaction.atomic():
            now = timezone.now()
            if not Demand.objects.filter(
                pk=demand_id, status=Demand.Status.PUBLISHED, deadline__lt=today
            ).update(
                status=Demand.Status.CLOSED,
                outcome=Demand.Outcome.EXPIRED,
                closed_at=now,
                updated_at=now,
            ):
                continue  # closed by its poster meanwhile
            demand = Demand.objects.select_related("region").get(pk=demand_id)
            audit.record(
                actor=None,
                action="market.demand.expire",
                target=demand,
                region=demand.region,
                before={"status": Demand.Status.PUBLISHED},
                after={"status": Demand.Status.CLOSED, "outcome": Demand.Outcome.EXPIRED},
            )
            expired += 1
    return expired


# --- alerting providers -------------------------------------------------------------------


def _alert_after_commit(demand_id: int) -> None:
    try:
        alert_providers(demand_id)
    except Exception:  # the demand is published; the worker's sweep retries the alerts
        log.exception("alerting providers for demand %s failed", demand_id)


def demand_link(demand_id: int) -> str:
    return f"/market/demands/{demand_id}/"


def alert_providers(demand_id: int) -> int:
    """Alert, once, the organisations whose listings match the published demand at or above
    ALERT_THRESHOLD. Returns how many organisations were alerted."""
    demand = (
        Demand.objects.select_related("organisation", "field", "region__province")
        .filter(pk=demand_id, status=Demand.Status.PUBLISHED, alerts_sent_at__isnull=True)
        .first()
    )
    if demand is None:
        return 0
    # Matching reads the search index: do it before taking any lock.
    matches = matcher.match_listings(matcher.profile_for(demand), limit=ALERT_CANDIDATES)
    best = [
        p
        for p in matcher.providers(matches, limit=len(matches))
        if p.best.score >= scoring.ALERT_THRESHOLD
    ][:MAX_ALERTS]
    with transaction.atomic():
        locked = (
            Demand.objects.select_for_update()
            .filter(pk=demand_id, status=Demand.Status.PUBLISHED, alerts_sent_at__isnull=True)
            .first()
        )
        if locked is None:
            return 0  # alerted by a concurrent run, or closed meanwhile
        DemandAlert.objects.bulk_create(
            [
                DemandAlert(
                    demand_id=demand_id,
                    organisation_id=p.organisation_id,
                    resource_id=p.best.listing.id,
                    score=p.best.score,
                )
                for p in best
            ],
            ignore_conflicts=True,
        )
        users = User.objects.filter(
            memberships__organisation_id__in=[p.organisation_id for p in best], is_active=True
        ).distinct()
        if best:
            notify.notify(
                users,
                kind="market.demand.match",
                title=_("A new technology demand matches your listings: %(title)s")
                % {"title": demand.title_zh},
                body=_(
                    "%(org)s is looking for: %(summary)s\nField: %(field)s · deadline "
                    "%(deadline)s. See why it matches and express your interest:"
                )
                % {
                    "org": demand.organisation.name_zh,
                    "summary": demand.summary_zh[:300],
                    "field": demand.field.name_zh,
                    "deadline": demand.deadline.isoformat(),
                },
                link=demand_link(demand_id),
            )
        Demand.objects.filter(pk=demand_id).update(alerts_sent_at=timezone.now())
    return len(best)


def alert_pending(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Alerts for published demands whose after-commit run did not happen (a crash)."""
    pending = Demand.objects.filter(
        status=Demand.Status.PUBLISHED,
        alerts_sent_at__isnull=True,
        published_at__lt=timezone.now() - older_than,
    ).values_list("pk", flat=True)
    return sum(alert_providers(pk) for pk in list(pending))


# --- interest and threads ---------------------------------------------------------------


def _members(organisation_id: int) -> Any:
    return User.objects.filter(memberships__organisation_id=organisation_id, is_active=True)


def express_interest(
    *,
    actor: User,
    demand_id: int,
    organisation_id: int,
    message: str,
    resource_id: int | None = None,
) -> Thread:
    """A provider answers an open demand: opens the thread of (demand, organisation) — or
    adds to the one it already has — with a first message, and notifies the poster."""
    body = (message or "").strip()
    if not body:
        raise DomainError(_("Write a message to the enterprise."), field="message")
    if len(body) > 5000:
        raise DomainError(_("At most %(n)d characters.") % {"n": 5000}, field="message")
    provider = Organisation.objects.filter(pk=organisation_id).first()
    if provider is None:
        raise NotFound(_("Organisation not found."), field="organisation")
    if not perms.is_member(actor, provider.pk):
        raise PermissionDenied(
            _("Only members of the organisation can answer for it."), field="organisation"
        )
    if provider.status != Organisation.Status.VERIFIED:
        raise PermissionDenied(
            _("Only verified organisations can express interest."), field="organisation"
        )
    demand = Demand.objects.select_related("organisation").filter(pk=demand_id).first()
    if demand is None or demand.status == Demand.Status.DRAFT:
        raise NotFound(_("Demand not found."))
    if demand.organisation_id == provider.pk:
        raise DomainError(_("This is your own demand."), field="organisation")
    if demand.status != Demand.Status.PUBLISHED or demand.deadline < timezone.localdate():
        raise DomainError(_("The demand is no longer open."), status=409)
    resource = None
    if resource_id is not None:
        resource = Resource.objects.filter(
            pk=resource_id, owner=provider, status=Status.PUBLISHED
        ).first()
        if resource is None:
            raise DomainError(
                _("Choose one of your organisation's published listings."), field="resource"
            )
    with transaction.atomic():
        now = timezone.now()
        thread, created = Thread.objects.get_or_create(
            demand=demand,
            provider=provider,
            defaults={"resource": resource, "created_by": actor, "last_message_at": now},
        )
        if not created:
            updates: dict[str, Any] = {"last_message_at": now}
            if resource is not None:
                updates["resource"] = resource
            Thread.objects.filter(pk=thread.pk).update(**updates)
        Message.objects.create(thread=thread, organisation=provider, author=actor, body=body)
        if created:
            audit.record(
                actor=actor,
                action="market.demand.interest",
                target=thread,
                region=demand.region,
                after={"demand": demand.pk, "provider": provider.pk, "resource": resource_id},
            )
        notify.notify(
            _members(demand.organisation_id),
            kind="market.demand.interest",
            title=_("%(org)s is interested in your demand: %(title)s")
            % {"org": provider.name_zh, "title": demand.title_zh},
            body=body[:500],
            link=thread_link(thread.pk),
        )
    return thread


def thread_link(thread_id: int) -> str:
    return f"/market/threads/{thread_id}/"


def side_of(user: Any, thread: Thread) -> int | None:
    """The organisation `user` writes for in the thread (the provider's side first), or
    None when the user belongs to neither."""
    if perms.is_member(user, thread.provider_id):
        return thread.provider_id
    if perms.is_member(user, thread.demand.organisation_id):
        return thread.demand.organisation_id
    return None


def post_message(*, actor: User, thread_id: int, body: str) -> Message:
    """A member of either organisation writes in the thread; the other side is notified."""
    text = (body or "").strip()
    if not text:
        raise DomainError(_("The message is empty."), field="body")
    if len(text) > 5000:
        raise DomainError(_("At most %(n)d characters.") % {"n": 5000}, field="body")
    thread = (
        Thread.objects.select_related("demand", "provider", "demand__organisation")
        .filter(pk=thread_id)
        .first()
    )
    side = side_of(actor, thread) if thread is not None else None
    if thread is not None and side is None and perms.is_auditor(actor):
        raise PermissionDenied(_("Auditors read conversations; they do not write in them."))
    if thread is None or side is None:
        raise NotFound(_("Conversation not found."))
    other = thread.demand.organisation_id if side == thread.provider_id else thread.provider_id
    with transaction.atomic():
        message = Message.objects.create(
            thread=thread, organisation_id=side, author=actor, body=text
        )
        Thread.objects.filter(pk=thread.pk).update(last_message_at=message.created_at)
        sender = thread.provider if side == thread.provider_id else thread.demand.organisation
        notify.notify(
            _members(other).exclude(pk=actor.pk),
            kind="market.thread.message",
            title=_("New message from %(org)s about: %(title)s")
            % {"org": sender.name_zh, "title": thread.demand.title_zh},
            body=text[:500],
            link=thread_link(thread.pk),
        )
    return message


# --- inbox -------------------------------------------------------------------------------


def mark_notifications_read(*, actor: User, ids: Sequence[int] | None = None) -> int:
    """Mark the user's own notifications read (all of them when `ids` is None)."""
    return notify.mark_read(actor, ids)
