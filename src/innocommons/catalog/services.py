"""Every write to the catalog. Each one checks permissions, validates, writes the resource
and its search outbox row in one transaction, and audits status changes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.accounts.models import Organisation, User
from innocommons.catalog.models import (
    Achievement,
    Expert,
    Instrument,
    Kind,
    Resource,
    Service,
    Status,
)
from innocommons.catalog.search.outbox import enqueue
from innocommons.catalog.validation import COMMON_FIELDS, DETAIL_FIELDS, INPUT_FORMS
from innocommons.core import audit
from innocommons.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from innocommons.core.money import fen_to_yuan

DETAIL_MODELS: dict[str, type[Any]] = {
    Kind.INSTRUMENT: Instrument,
    Kind.SERVICE: Service,
    Kind.ACHIEVEMENT: Achievement,
    Kind.EXPERT: Expert,
}
# Transitions a provider may make: draft → published → archived, and back to draft/published.
TRANSITIONS = {
    Status.DRAFT: {Status.PUBLISHED, Status.ARCHIVED},
    Status.PUBLISHED: {Status.DRAFT, Status.ARCHIVED},
    Status.ARCHIVED: {Status.DRAFT, Status.PUBLISHED},
}


def clean_input(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate listing input for `kind`; raise ValidationFailed naming every bad field."""
    if kind not in INPUT_FORMS:
        raise DomainError(_("Unknown resource type."), field="kind")
    form = INPUT_FORMS[kind](data=data)
    if not form.is_valid():
        raise ValidationFailed.from_form_errors(dict(form.errors))
    return form.cleaned_data


def apply_input(resource: Resource, detail: Any, kind: str, cleaned: dict[str, Any]) -> None:
    for name in COMMON_FIELDS:
        setattr(resource, name, cleaned.get(name) if name == "field" else cleaned.get(name) or "")
    resource.price_fen = cleaned.get("price_yuan")
    if cleaned.get("region") is not None:
        resource.region = cleaned["region"]
    for form_name, attr in DETAIL_FIELDS[kind].items():
        value = cleaned.get(form_name)
        if value is None or value == "":
            # Keep the model default for optional settings left empty.
            field = detail._meta.get_field(attr)
            if field.has_default():
                value = field.get_default()
            elif not field.null:
                value = ""
        setattr(detail, attr, value)


def current_values(resource: Resource) -> dict[str, Any]:
    """The resource as form input, so a partial update can overlay changed keys."""
    data: dict[str, Any] = {
        "title_zh": resource.title_zh,
        "title_en": resource.title_en,
        "summary_zh": resource.summary_zh,
        "summary_en": resource.summary_en,
        "keywords": resource.keywords,
        "field": resource.field.code if resource.field is not None else "",
        "region": resource.region_id,
        "price_yuan": None if resource.price_fen is None else fen_to_yuan(resource.price_fen),
    }
    detail = resource.detail
    for form_name, attr in DETAIL_FIELDS[resource.kind].items():
        value = getattr(detail, attr, None) if detail is not None else None
        if hasattr(value, "code"):
            value = getattr(value, "code")  # noqa: B009 - a Term, typed loosely here
        if attr.endswith("_fen"):
            value = None if value is None else fen_to_yuan(value)
        data[form_name] = value
    return data


def _owner_for_edit(actor: User, owner_id: int) -> Organisation:
    if not permissions.can_edit_resources_of(actor, owner_id):
        raise PermissionDenied(
            _("Only members of the organisation that owns the resource can edit it.")
        )
    org = Organisation.objects.select_related("region").filter(pk=owner_id).first()
    if org is None:
        raise NotFound(_("Organisation not found."), field="owner")
    if org.status in (Organisation.Status.SUSPENDED, Organisation.Status.REJECTED):
        raise PermissionDenied(
            _("The organisation is suspended or rejected and cannot maintain resources.")
        )
    return org


def create_resource(
    *, actor: User, owner_id: int, kind: str, data: dict[str, Any], publish: bool = False
) -> Resource:
    """A member of `owner_id` creates a listing (a draft unless `publish`)."""
    org = _owner_for_edit(actor, owner_id)
    cleaned = clean_input(kind, data)
    with transaction.atomic():
        resource = Resource(kind=kind, owner=org, region=org.region, created_by=actor)
        detail = DETAIL_MODELS[kind]()
        apply_input(resource, detail, kind, cleaned)
        resource.save()
        detail.resource = resource
        detail.save()
        audit.record(
            actor=actor,
            action="resource.create",
            target=resource,
            region=resource.region,
            after={"kind": kind, "title": resource.title_zh},
        )
        if publish:
            _transition(actor, resource, Status.PUBLISHED)
        enqueue([resource.pk])
    return resource


def _get_for_edit(actor: User, resource_id: int) -> Resource:
    resource = (
        Resource.objects.select_for_update(of=("self",))
        .select_related("owner", "region", "field")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None:
        raise NotFound(_("Resource not found."))
    _owner_for_edit(actor, resource.owner_id)
    return resource


def update_resource(*, actor: User, resource_id: int, data: dict[str, Any]) -> Resource:
    """Change a listing; keys missing from `data` keep their current values."""
    with transaction.atomic():
        resource = _get_for_edit(actor, resource_id)
        merged = {**current_values(resource), **data}
        cleaned = clean_input(resource.kind, merged)
        detail = resource.detail or DETAIL_MODELS[resource.kind](resource=resource)
        apply_input(resource, detail, resource.kind, cleaned)
        resource.save()
        detail.save()
        audit.record(
            actor=actor,
            action="resource.update",
            target=resource,
            region=resource.region,
            after={"fields": sorted(data)},
        )
        enqueue([resource.pk])
    return resource


def _transition(actor: User, resource: Resource, status: str) -> None:
    if status not in Status.values:
        raise DomainError(_("Unknown status."), field="status")
    if status == resource.status:
        return
    if status not in TRANSITIONS[Status(resource.status)]:
        raise DomainError(_("This status change is not allowed."), field="status", status=409)
    if status == Status.PUBLISHED:
        if resource.owner.status != Organisation.Status.VERIFIED:
            raise DomainError(
                _("The organisation must be verified before it can publish resources."),
                field="status",
                status=409,
            )
        if not resource.title_zh.strip():
            raise DomainError(_("Please enter the Chinese title."), field="title_zh")
        resource.published_at = timezone.now()
    before = resource.status
    resource.status = status
    resource.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(
        actor=actor,
        action=f"resource.{status}",
        target=resource,
        region=resource.region,
        before={"status": before},
        after={"status": status},
    )


def set_resource_status(*, actor: User, resource_id: int, status: str) -> Resource:
    """Publish, archive or return a listing to draft."""
    with transaction.atomic():
        resource = _get_for_edit(actor, resource_id)
        _transition(actor, resource, status)
        enqueue([resource.pk])
    return resource
