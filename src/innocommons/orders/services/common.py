"""Checks shared by the booking and order services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.accounts.models import Organisation
from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Kind, Resource, Status
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.orders.permissions import can_view, sides


def client_organisation(actor: Any, organisation_id: int, *, field: str) -> Organisation:
    """The organisation the actor books or orders for: theirs, and verified."""
    if not permissions.is_member(actor, organisation_id):
        raise PermissionDenied(
            _("You can only book or order for an organisation you are a member of."), field=field
        )
    try:
        org = Organisation.objects.only("id", "status").get(pk=organisation_id)
    except Organisation.DoesNotExist:
        raise NotFound(_("Organisation not found."), field=field) from None
    if org.status != Organisation.Status.VERIFIED:
        raise PermissionDenied(
            _("Your organisation must be verified before it can book or order."), field=field
        )
    return org


def check_offered(resource: Resource | None, kinds: tuple[str, ...]) -> Resource:
    """The resource exists, is published by a visible owner and is of a kind on offer."""
    if (
        resource is None
        or resource.status != Status.PUBLISHED
        or resource.owner.status in HIDDEN_OWNER_STATUSES
    ):
        raise NotFound(_("Resource not found or not published."), field="resource")
    if resource.kind not in kinds:
        if kinds == (Kind.INSTRUMENT,):
            message = _("Only instruments can be booked.")
        else:
            message = _("Only services and instruments can be ordered.")
        raise DomainError(message, field="resource")
    return resource


def not_own(resource: Resource, client: Organisation) -> None:
    if resource.owner_id == client.pk:
        raise DomainError(
            _("Your organisation owns this resource; it cannot book or order it from itself."),
            field="resource",
        )


def require_provider(actor: Any, owner_id: int) -> None:
    if not permissions.is_member(actor, owner_id):
        raise PermissionDenied(
            _("Only members of the organisation that owns the instrument can do this.")
        )


__all__ = [
    "can_view",
    "check_offered",
    "client_organisation",
    "not_own",
    "require_provider",
    "sides",
]
