"""Checks shared by the booking and order services."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import permissions
from innocommons.accounts.models import Organisation
from innocommons.catalog.models import HIDDEN_OWNER_STATUSES, Kind, Resource, Status
from innocommons.core import sql
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.orders.permissions import can_view, sides

M = TypeVar("M", bound=models.Model)


def loaded(model: type[M], values: Mapping[str, Any]) -> M:
    """The instance the ORM would build from a row of `values` (attribute name → value)
    that hand-written SQL read; the fields not given are deferred, as with `.only()`."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[n] for n in names])


def db_datetime(value: Any) -> datetime:
    """A timestamp column as hand-written SQL returns it (SQLite: naive UTC text)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def db_time(value: Any) -> time:
    """A time column as hand-written SQL returns it (SQLite: text)."""
    return value if isinstance(value, time) else time.fromisoformat(value)


def require_client_member(actor: Any, organisation_id: int, *, field: str) -> None:
    """The actor books or orders only for an organisation they are a member of."""
    if not permissions.is_member(actor, organisation_id):
        raise PermissionDenied(
            _("You can only book or order for an organisation you are a member of."), field=field
        )


def organisation_status(organisation_id: int) -> str | None:
    with sql.cursor() as cur:
        cur.execute("SELECT status FROM accounts_organisation WHERE id = %s", [organisation_id])
        row = cur.fetchone()
    return None if row is None else str(row[0])


def verified_client(organisation_id: int, status: str | None, *, field: str) -> Organisation:
    """The client organisation, given its status as read (None: there is no such one)."""
    if status is None:
        raise NotFound(_("Organisation not found."), field=field)
    if status != Organisation.Status.VERIFIED:
        raise PermissionDenied(
            _("Your organisation must be verified before it can book or order."), field=field
        )
    return loaded(Organisation, {"id": organisation_id, "status": status})


def client_organisation(actor: Any, organisation_id: int, *, field: str) -> Organisation:
    """The organisation the actor books or orders for: theirs, and verified."""
    require_client_member(actor, organisation_id, field=field)
    return verified_client(organisation_id, organisation_status(organisation_id), field=field)


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
    "db_datetime",
    "db_time",
    "loaded",
    "not_own",
    "organisation_status",
    "require_client_member",
    "require_provider",
    "sides",
    "verified_client",
]
