"""Who may do what with vouchers. Services call these; views and the API never decide alone."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from innocommons.accounts import permissions as perms
from innocommons.vouchers.models import Programme


def can_run_programme(user: Any, programme: Programme) -> bool:
    """Regional administrators of the issuing region (or above it) run a programme."""
    return perms.administers_region(user, programme.region)


def can_read_programme_books(user: Any, programme: Programme) -> bool:
    """Private figures (applications, claims, ledger): its administrators, auditors, operators."""
    return can_run_programme(user, programme) or perms.is_auditor(user) or perms.is_operator(user)


def sees_everything(user: Any) -> bool:
    return perms.is_auditor(user) or perms.is_operator(user)


def administered_programmes(user: Any) -> QuerySet[Programme]:
    """Programmes the user runs (regional administrators) or may read in full (auditors)."""
    if sees_everything(user):
        return Programme.objects.all()
    regions = perms.admin_regions(user)
    if not regions:
        return Programme.objects.none()
    q = Q()
    for region in regions:
        # Programmes of the region itself or of regions below it.
        q |= Q(region=region) | Q(region__parent=region) | Q(region__parent__parent=region)
    return Programme.objects.filter(q)
