"""Who may do what. Every service calls these; views and the API never decide alone.

The answers are cached on the user object for the life of one request.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from innocommons.accounts.models import Membership, Organisation, StaffRole, User
from innocommons.core.models import Region


def _cache(user: Any) -> dict[str, Any]:
    cache = getattr(user, "_ic_perm_cache", None)
    if cache is None:
        cache = {}
        user._ic_perm_cache = cache
    return cache


def staff_roles(user: Any) -> list[StaffRole]:
    if not getattr(user, "is_authenticated", False):
        return []
    cache = _cache(user)
    if "staff" not in cache:
        cache["staff"] = list(StaffRole.objects.filter(user=user).select_related("region"))
    return cache["staff"]  # type: ignore[no-any-return]


def memberships(user: Any) -> dict[int, str]:
    """organisation id → role for the user's memberships."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cache = _cache(user)
    if "members" not in cache:
        cache["members"] = dict(
            Membership.objects.filter(user=user).values_list("organisation_id", "role")
        )
    return cache["members"]  # type: ignore[no-any-return]


def forget(user: Any) -> None:
    """Drop cached answers after a membership or role change."""
    if hasattr(user, "_ic_perm_cache"):
        del user._ic_perm_cache


def is_operator(user: Any) -> bool:
    return getattr(user, "is_superuser", False) or any(
        r.role == StaffRole.Role.OPERATOR for r in staff_roles(user)
    )


def is_auditor(user: Any) -> bool:
    return any(r.role == StaffRole.Role.AUDITOR for r in staff_roles(user))


def admin_regions(user: Any) -> list[Region]:
    """Regions the user administers as a regional administrator."""
    return [
        r.region for r in staff_roles(user) if r.role == StaffRole.Role.REGIONAL_ADMIN and r.region
    ]


def administers_region(user: Any, region: Region) -> bool:
    return any(region.is_within(r) for r in admin_regions(user))


def is_member(user: Any, organisation_id: int) -> bool:
    return organisation_id in memberships(user)


def is_org_admin(user: Any, organisation_id: int) -> bool:
    return memberships(user).get(organisation_id) == Membership.Role.ADMIN


def can_verify_organisation(user: Any, organisation: Organisation) -> bool:
    """Verification belongs to the organisation's own region's administrators."""
    return administers_region(user, organisation.region)


def can_view_private_organisation(user: Any, organisation: Organisation) -> bool:
    return (
        is_member(user, organisation.pk)
        or is_operator(user)
        or is_auditor(user)
        or administers_region(user, organisation.region)
    )


def can_view_members(user: Any, organisation_id: int) -> bool:
    """The member list: the organisation's own people, operators and auditors."""
    return is_member(user, organisation_id) or is_operator(user) or is_auditor(user)


def can_manage_members(user: Any, organisation_id: int) -> bool:
    """Adding, re-roling and removing members: the organisation's admins and operators."""
    return is_org_admin(user, organisation_id) or is_operator(user)


def can_edit_resources_of(user: Any, organisation_id: int) -> bool:
    """Only members of the owning organisation change its listings."""
    return is_member(user, organisation_id)


def acting_user(request: Any) -> User:
    """The signed-in user of a request whose view or endpoint already required sign-in."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        from innocommons.core.errors import DomainError

        raise DomainError(_("Sign-in required."), status=401)
    return user  # type: ignore[no-any-return]
