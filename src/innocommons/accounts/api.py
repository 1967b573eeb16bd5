"""API: tokens, the current user, organisations (read, apply, verify, reject)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from innocommons.accounts import permissions, selectors, services
from innocommons.accounts.models import Membership, Organisation, User
from innocommons.accounts.permissions import acting_user
from innocommons.core.apiutils import AUTH, current_user
from innocommons.core.errors import DomainError

router = Router(tags=["accounts"])


class TokenIn(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=200)
    name: str = Field("api", max_length=100)


class TokenOut(Schema):
    id: int
    token: str
    name: str
    expires_at: datetime | None


class TokenInfo(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@router.post(
    "/auth/token",
    response={201: TokenOut},
    summary="Exchange username and password for a bearer token",
)
def create_token(request: HttpRequest, payload: TokenIn) -> Any:
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise DomainError(
            _("Too many failed sign-in attempts; please try again later."), status=429
        )
    if user is None:
        raise DomainError(_("Incorrect username or password."), field="password", status=401)
    token, raw = services.create_api_token(actor=user, name=payload.name)
    return Status(
        201, TokenOut(id=token.pk, token=raw, name=token.name, expires_at=token.expires_at)
    )


@router.get("/auth/tokens", response=list[TokenInfo], auth=AUTH, summary="My API tokens")
def list_tokens(request: HttpRequest) -> Any:
    return list(acting_user(request).api_tokens.all())


@router.delete("/auth/tokens/{token_id}", response=TokenInfo, auth=AUTH, summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int) -> Any:
    return services.revoke_api_token(actor=acting_user(request), token_id=token_id)


class MembershipOut(Schema):
    organisation: int
    organisation_name: str
    role: str


class StaffRoleOut(Schema):
    role: str
    region: str | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    memberships: list[MembershipOut]
    staff_roles: list[StaffRoleOut]


@router.get("/me", response=MeOut, auth=AUTH, summary="The signed-in user and their roles")
def me(request: HttpRequest) -> MeOut:
    user = acting_user(request)
    return MeOut(
        id=user.pk,
        username=user.get_username(),
        display_name=getattr(user, "display_name", ""),
        memberships=[
            MembershipOut(
                organisation=m.organisation_id, organisation_name=m.organisation.name, role=m.role
            )
            for m in user.memberships.select_related("organisation")  # type: ignore[union-attr]
        ],
        staff_roles=[
            StaffRoleOut(role=s.role, region=s.region_id) for s in permissions.staff_roles(user)
        ],
    )


class OrganisationOut(Schema):
    """Public profile, including how to get in touch (listings are worthless otherwise)."""

    id: int
    name: str
    name_zh: str
    name_en: str
    type: str
    region: str
    region_name: str
    status: str
    is_high_tech: bool
    is_tech_sme: bool
    website: str
    description: str
    contact_email: str
    contact_phone: str
    address: str
    url: str


class OrganisationPrivateOut(OrganisationOut):
    credit_code: str | None
    credit_code_flagged: bool
    status_reason: str


def organisation_out(user: Any, org: Organisation) -> OrganisationOut:
    base: dict[str, Any] = {
        "id": org.pk,
        "name": org.name,
        "name_zh": org.name_zh,
        "name_en": org.name_en,
        "type": org.type,
        "region": org.region_id,
        "region_name": org.region.name,
        "status": org.status,
        "is_high_tech": org.is_high_tech,
        "is_tech_sme": org.is_tech_sme,
        "website": org.website,
        "description": org.description,
        "contact_email": org.contact_email,
        "contact_phone": org.contact_phone,
        "address": org.address,
        "url": f"/organisations/{org.pk}/",
    }
    if permissions.can_view_private_organisation(user, org):
        return OrganisationPrivateOut(
            **base,
            credit_code=org.credit_code,
            credit_code_flagged=org.credit_code_flagged,
            status_reason=org.status_reason,
        )
    return OrganisationOut(**base)


class OrganisationPage(Schema):
    total: int
    page: int
    page_size: int
    items: list[OrganisationPrivateOut | OrganisationOut]


@router.get("/organisations", response=OrganisationPage, summary="Organisations I may see")
def list_organisations(
    request: HttpRequest,
    q: str = "",
    region: str = "",
    type: str = "",
    status: str = "",
    page: int = Query(1, ge=1, le=10_000),  # type: ignore[assignment]
    page_size: int = Query(20, ge=1, le=100),  # type: ignore[assignment]
) -> OrganisationPage:
    user = current_user(request)
    qs = selectors.visible_organisations(user)
    if q:
        qs = qs.filter(name_zh__icontains=q[:100]) | qs.filter(name_en__icontains=q[:100])
    if region:
        qs = qs.filter(region__code__startswith=region[:12].rstrip("0") or region[:12])
    if type:
        qs = qs.filter(type=type[:20])
    if status:
        qs = qs.filter(status=status[:12])
    page_size = max(1, min(page_size, 100))
    page = max(1, page)
    total = qs.count()
    items = qs.order_by("name_zh", "id")[(page - 1) * page_size : page * page_size]
    return OrganisationPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[organisation_out(user, o) for o in items],
    )


@router.get(
    "/organisations/{org_id}",
    response=OrganisationPrivateOut | OrganisationOut,
    summary="One organisation",
)
def get_organisation(request: HttpRequest, org_id: int) -> OrganisationOut:
    user = current_user(request)
    return organisation_out(user, selectors.get_organisation(user, org_id))


class OrganisationIn(Schema):
    name_zh: str = Field(max_length=200)
    name_en: str = Field("", max_length=200)
    type: str = Field(max_length=20)
    credit_code: str = Field(max_length=40)
    region: str = Field(max_length=12)
    is_high_tech: bool = False
    is_tech_sme: bool = False
    website: str = Field("", max_length=200)
    contact_email: str = Field("", max_length=254)
    contact_phone: str = Field("", max_length=40)
    address: str = Field("", max_length=300)
    description: str = Field("", max_length=5000)


@router.post(
    "/organisations",
    response={201: OrganisationPrivateOut},
    auth=AUTH,
    summary="Apply to register an organisation",
)
def apply_organisation(request: HttpRequest, payload: OrganisationIn) -> Any:
    org = services.apply_organisation(
        actor=acting_user(request),
        data=services.OrganisationInput(**payload.dict()),
    )
    return Status(201, organisation_out(request.user, org))


class DecisionIn(Schema):
    reason: str = Field("", max_length=2000)


@router.post(
    "/organisations/{org_id}/verify",
    response=OrganisationPrivateOut,
    auth=AUTH,
    summary="Verify an organisation (its region's administrator)",
)
def verify_organisation(request: HttpRequest, org_id: int, payload: DecisionIn) -> Any:
    org = services.verify_organisation(
        actor=acting_user(request),
        organisation_id=org_id,
        note=payload.reason,
    )
    return organisation_out(request.user, org)


@router.post(
    "/organisations/{org_id}/suspend",
    response=OrganisationPrivateOut,
    auth=AUTH,
    summary="Suspend a verified organisation with a reason (its region's administrator)",
)
def suspend_organisation(request: HttpRequest, org_id: int, payload: DecisionIn) -> Any:
    org = services.suspend_organisation(
        actor=acting_user(request), organisation_id=org_id, reason=payload.reason
    )
    return organisation_out(request.user, org)


@router.post(
    "/organisations/{org_id}/reject",
    response=OrganisationPrivateOut,
    auth=AUTH,
    summary="Reject an organisation's application with a reason",
)
def reject_organisation(request: HttpRequest, org_id: int, payload: DecisionIn) -> Any:
    org = services.reject_organisation(
        actor=acting_user(request),
        organisation_id=org_id,
        reason=payload.reason,
    )
    return organisation_out(request.user, org)


class MemberOut(Schema):
    user_id: int
    username: str
    display_name: str
    role: str


class MemberIn(Schema):
    username: str = Field(max_length=150)
    role: str = Field("member", max_length=10)


def _members(org_id: int) -> list[MemberOut]:
    rows = Membership.objects.filter(organisation_id=org_id).select_related("user")
    return [
        MemberOut(
            user_id=m.user_id,
            username=m.user.username,
            display_name=m.user.display_name,
            role=m.role,
        )
        for m in rows.order_by("user__username")
    ]


@router.get(
    "/organisations/{org_id}/members",
    response=list[MemberOut],
    auth=AUTH,
    summary="Members of an organisation (its members, operators, auditors)",
)
def list_members(request: HttpRequest, org_id: int) -> list[MemberOut]:
    if not permissions.can_view_members(acting_user(request), org_id):
        raise DomainError(_("Only members can see the member list."), status=403)
    return _members(org_id)


@router.post(
    "/organisations/{org_id}/members",
    response=list[MemberOut],
    auth=AUTH,
    summary="Add a member or change a member's role (organisation admins)",
)
def set_member(request: HttpRequest, org_id: int, payload: MemberIn) -> list[MemberOut]:
    user = acting_user(request)
    # Check the right first, so the answer never tells who has an account.
    if not permissions.can_manage_members(user, org_id):
        raise DomainError(_("Only organisation admins can manage members."), status=403)
    target = User.objects.filter(username=payload.username).first()
    if target is None:
        raise DomainError(_("No user with that username."), field="username", status=404)
    services.set_member_role(
        actor=user, organisation_id=org_id, user_id=target.pk, role=payload.role
    )
    return _members(org_id)


@router.delete(
    "/organisations/{org_id}/members/{user_id}",
    response=list[MemberOut],
    auth=AUTH,
    summary="Remove a member (organisation admins)",
)
def remove_member(request: HttpRequest, org_id: int, user_id: int) -> list[MemberOut]:
    services.set_member_role(
        actor=acting_user(request), organisation_id=org_id, user_id=user_id, role=None
    )
    return _members(org_id)
