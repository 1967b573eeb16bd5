"""Every write about accounts: registration, organisation applications, verification,
memberships, staff roles and API tokens. One function per use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innocommons.accounts import creditcode, permissions
from innocommons.accounts.models import ApiToken, Membership, Organisation, StaffRole, User
from innocommons.core import audit
from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.models import Region

MAX_NAME = 200


def _org_state(org: Organisation) -> dict[str, Any]:
    return {"status": org.status, "reason": org.status_reason}


def validate_credit_code(code: str) -> creditcode.CreditCodeCheck:
    """Reject malformed codes with a message naming the field; return the check result."""
    result = creditcode.check(code)
    if not result.well_formed:
        if result.problem == "length":
            raise DomainError(
                _("The unified social credit code must be 18 characters long."), field="credit_code"
            )
        raise DomainError(
            _(
                "The unified social credit code may only contain digits and capital letters "
                "other than I, O, S, V and Z."
            ),
            field="credit_code",
        )
    return result


def get_region(code: str, *, field: str = "region") -> Region:
    try:
        return Region.objects.get(code=(code or "").strip())
    except Region.DoesNotExist:
        raise DomainError(
            _("Unknown region code: %(code)s") % {"code": code[:20]}, field=field
        ) from None


@dataclass(frozen=True)
class OrganisationInput:
    name_zh: str
    type: str
    region: str
    credit_code: str = ""
    name_en: str = ""
    is_high_tech: bool = False
    is_tech_sme: bool = False
    website: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    address: str = ""
    description: str = ""


def _validate_contacts(data: OrganisationInput) -> None:
    """Website and e-mail end up in links on public pages: only http(s) URLs, real e-mails."""
    if data.website:
        try:
            URLValidator(schemes=["http", "https"])(data.website)
        except ValidationError:
            raise DomainError(
                _("Enter a web address starting with http:// or https://."), field="website"
            ) from None
    if data.contact_email:
        try:
            validate_email(data.contact_email)
        except ValidationError:
            raise DomainError(_("Enter a valid e-mail address."), field="contact_email") from None


def apply_organisation(*, actor: User, data: OrganisationInput) -> Organisation:
    """A signed-in user registers an organisation; it waits for its region to verify it.

    The applicant becomes the organisation's admin.
    """
    name = data.name_zh.strip()
    if not name:
        raise DomainError(_("Please enter the organisation's Chinese name."), field="name_zh")
    if len(name) > MAX_NAME or len(data.name_en) > MAX_NAME:
        raise DomainError(_("The name is too long (at most 200 characters)."), field="name_zh")
    if data.type not in Organisation.Type.values:
        raise DomainError(_("Unknown organisation type."), field="type")
    check = validate_credit_code(data.credit_code)
    region = get_region(data.region)
    _validate_contacts(data)
    with transaction.atomic():
        taken = DomainError(
            _(
                "This unified social credit code is already registered; "
                "ask that organisation's administrator to add you."
            ),
            field="credit_code",
            status=409,
        )
        if Organisation.objects.filter(credit_code=check.code).exists():
            raise taken
        try:
            # The unique constraint decides when two applications race past the check above.
            with transaction.atomic():
                org = Organisation.objects.create(
                    name_zh=name,
                    name_en=data.name_en.strip(),
                    type=data.type,
                    credit_code=check.code,
                    credit_code_flagged=not check.check_ok,
                    region=region,
                    is_high_tech=data.is_high_tech,
                    is_tech_sme=data.is_tech_sme,
                    website=data.website,
                    contact_email=data.contact_email,
                    contact_phone=data.contact_phone[:40],
                    address=data.address[:300],
                    description=data.description[:5000],
                )
        except IntegrityError:
            raise taken from None
        Membership.objects.create(user=actor, organisation=org, role=Membership.Role.ADMIN)
        audit.record(
            actor=actor,
            action="organisation.apply",
            target=org,
            region=region,
            after={
                "status": org.status,
                "credit_code": org.credit_code,
                "credit_code_flagged": org.credit_code_flagged,
            },
        )
    permissions.forget(actor)
    return org


def reindex_listings(org: Organisation) -> None:
    """Queue the organisation's listings for the search index (its status or name changed)."""
    from innocommons.catalog.search.outbox import enqueue

    enqueue(org.resources.values_list("id", flat=True))


S = Organisation.Status
# Which states each decision may be taken from: applications are verified or rejected;
# verified organisations can be suspended; rejected or suspended ones can be (re)verified.
DECISIONS_FROM: dict[str, set[str]] = {
    S.VERIFIED: {S.PENDING, S.REJECTED, S.SUSPENDED},
    S.REJECTED: {S.PENDING},
    S.SUSPENDED: {S.VERIFIED},
}


def _decide(*, actor: User, organisation_id: int, status: str, reason: str) -> Organisation:
    with transaction.atomic():
        try:
            org = (
                Organisation.objects.select_for_update()
                .select_related("region")
                .get(pk=organisation_id)
            )
        except Organisation.DoesNotExist:
            raise NotFound(_("Organisation not found.")) from None
        if not permissions.can_verify_organisation(actor, org):
            raise PermissionDenied(
                _("Only administrators of the organisation's region can review it.")
            )
        if org.status not in DECISIONS_FROM[status]:
            raise DomainError(
                _("This decision does not apply to an organisation that is %(state)s.")
                % {"state": org.get_status_display()},
                field="status",
                status=409,
            )
        before = _org_state(org)
        org.status = status
        org.status_reason = reason
        org.verified_at = timezone.now() if status == Organisation.Status.VERIFIED else None
        org.save(update_fields=["status", "status_reason", "verified_at"])
        reindex_listings(org)
        audit.record(
            actor=actor,
            action=f"organisation.{status}",
            target=org,
            region=org.region,
            before=before,
            after=_org_state(org),
            note=reason,
        )
    return org


def verify_organisation(*, actor: User, organisation_id: int, note: str = "") -> Organisation:
    """The organisation's regional administrator confirms it (also after a flagged code)."""
    return _decide(
        actor=actor,
        organisation_id=organisation_id,
        status=Organisation.Status.VERIFIED,
        reason=note.strip()[:2000],
    )


def reject_organisation(*, actor: User, organisation_id: int, reason: str) -> Organisation:
    """The regional administrator rejects an application; the reason is required."""
    if not reason.strip():
        raise DomainError(_("A reason is required for a rejection."), field="reason")
    return _decide(
        actor=actor,
        organisation_id=organisation_id,
        status=Organisation.Status.REJECTED,
        reason=reason.strip()[:2000],
    )


def suspend_organisation(*, actor: User, organisation_id: int, reason: str) -> Organisation:
    if not reason.strip():
        raise DomainError(_("A reason is required for a suspension."), field="reason")
    return _decide(
        actor=actor,
        organisation_id=organisation_id,
        status=Organisation.Status.SUSPENDED,
        reason=reason.strip()[:2000],
    )


def set_member_role(
    *, actor: User, organisation_id: int, user_id: int, role: str | None
) -> Membership | None:
    """An organisation admin adds, changes or (role=None) removes a member."""
    if role is not None and role not in Membership.Role.values:
        raise DomainError(_("Unknown role."), field="role")
    if not permissions.can_manage_members(actor, organisation_id):
        raise PermissionDenied(_("Only organisation administrators can manage members."))
    with transaction.atomic():
        org = Organisation.objects.select_for_update().filter(pk=organisation_id).first()
        if org is None:
            raise NotFound(_("Organisation not found."))
        member = Membership.objects.filter(organisation=org, user_id=user_id).first()
        before = {"role": member.role} if member else None
        if role is None:
            if member is None:
                raise NotFound(_("This user is not a member of the organisation."))
            admins = Membership.objects.filter(organisation=org, role=Membership.Role.ADMIN)
            if member.role == Membership.Role.ADMIN and admins.count() == 1:
                raise DomainError(
                    _("An organisation needs at least one administrator."), field="role", status=409
                )
            member.delete()
            result = None
        elif member is None:
            if not User.objects.filter(pk=user_id).exists():
                raise NotFound(_("User not found."), field="user")
            result = Membership.objects.create(organisation=org, user_id=user_id, role=role)
        else:
            if member.role == Membership.Role.ADMIN and role != member.role:
                admins = Membership.objects.filter(organisation=org, role=Membership.Role.ADMIN)
                if admins.count() == 1:
                    raise DomainError(
                        _("An organisation needs at least one administrator."),
                        field="role",
                        status=409,
                    )
            member.role = role
            member.save(update_fields=["role"])
            result = member
        audit.record(
            actor=actor,
            action="membership.role",
            target=org,
            region=org.region,
            before=before,
            after={"user": user_id, "role": role},
        )
    return result


def grant_staff_role(
    *, actor: User, user_id: int, role: str, region_code: str | None = None
) -> StaffRole:
    """Operators appoint regional administrators, other operators and auditors."""
    if not permissions.is_operator(actor):
        raise PermissionDenied(_("Only platform operators can grant staff roles."))
    if role not in StaffRole.Role.values:
        raise DomainError(_("Unknown role."), field="role")
    region = None
    if role == StaffRole.Role.REGIONAL_ADMIN:
        if not region_code:
            raise DomainError(
                _("A regional administrator must be given a jurisdiction."), field="region"
            )
        region = get_region(region_code)
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(_("User not found."), field="user")
    with transaction.atomic():
        staff, created = StaffRole.objects.get_or_create(user_id=user_id, role=role, region=region)
        if created:
            audit.record(
                actor=actor,
                action="staff_role.grant",
                target=staff,
                region=region,
                after={"user": user_id, "role": role, "region": region.code if region else None},
            )
    return staff


def revoke_staff_role(*, actor: User, staff_role_id: int) -> None:
    if not permissions.is_operator(actor):
        raise PermissionDenied(_("Only platform operators can revoke staff roles."))
    with transaction.atomic():
        staff = StaffRole.objects.filter(pk=staff_role_id).first()
        if staff is None:
            raise NotFound(_("Role not found."))
        audit.record(
            actor=actor,
            action="staff_role.revoke",
            target=staff,
            region=staff.region,
            before={"user": staff.user_id, "role": staff.role, "region": staff.region_id},
        )
        staff.delete()


def create_api_token(
    *, actor: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; the raw key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Please give the token a name."), field="name")
    if len(name) > 100:
        raise DomainError(_("The name is too long (at most 100 characters)."), field="name")
    if actor.api_tokens.active().count() >= 20:
        raise DomainError(
            _("You can have at most 20 active tokens; revoke unused ones first."),
            field="name",
            status=409,
        )
    raw = ApiToken.new_raw_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor,
            name=name,
            key_hash=ApiToken.hash(raw),
            hint=raw[-4:],
            expires_at=expires_at,
        )
        audit.record(actor=actor, action="api_token.create", target=token, after={"name": name})
    return token, raw


def revoke_api_token(*, actor: User, token_id: int) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.filter(pk=token_id, user=actor).first()
        if token is None:
            raise NotFound(_("Token not found."))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor=actor, action="api_token.revoke", target=token)
    return token


def user_for_token(raw: str) -> User | None:
    """The active token's user, or None. Touches last_used_at at most once a minute."""
    if not raw or not raw.startswith(ApiToken.PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.active().select_related("user").filter(key_hash=ApiToken.hash(raw)).first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
