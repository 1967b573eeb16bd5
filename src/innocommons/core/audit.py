"""Writing audit entries. Call inside the service's transaction so both commit together."""

from __future__ import annotations

from typing import Any

from django.db import models

from innocommons.core.models import AuditEntry, Region


def record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    region: Region | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one audit entry for `action` on `target`."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        region=region,
        before=before,
        after=after,
        note=note,
    )
