"""Writing audit entries. Call inside the service's transaction so both commit together.

`record` is on the path of every write the platform makes (each bid, redemption and
booking), so it is one hand-written INSERT rather than a model save: the ORM's query
building costs more than the insert itself on this hardware (docs/performance.md).
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.db import connection, models
from django.utils import timezone

from innocommons.core import sql
from innocommons.core.models import AuditEntry, Region

_opts = AuditEntry._meta
_COLUMNS = ("at", "actor_id", "action", "target_type", "target_id", "region_id", "before")
_INSERT = (
    f"INSERT INTO {_opts.db_table} ({', '.join([*_COLUMNS, 'after', 'note'])}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * (len(_COLUMNS) + 2))})"
)
_LIMITS = {
    name: int(cast(models.CharField, _opts.get_field(name)).max_length or 0)
    for name in ("action", "target_type", "target_id")
}


def _json(value: dict[str, Any] | None) -> str | None:
    # As JSONField stores it (plain json.dumps): a value it could not store fails here too.
    return None if value is None else json.dumps(value)


def record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    region: Region | str | None = None,
    note: str = "",
) -> None:
    """Append one audit entry for `action` on `target`."""
    target_id = str(target.pk)
    target_type = target._meta.label_lower
    if len(action) > _LIMITS["action"] or len(target_type) > _LIMITS["target_type"]:
        raise ValueError(f"audit action or target type too long: {action!r}, {target_type!r}")
    with sql.cursor() as cur:
        cur.execute(
            _INSERT,
            [
                connection.ops.adapt_datetimefield_value(timezone.now()),
                actor.pk if getattr(actor, "is_authenticated", False) else None,
                action,
                target_type,
                target_id[: _LIMITS["target_id"]],
                region.pk if isinstance(region, Region) else region,
                _json(before),
                _json(after),
                note,
            ],
        )
