"""Organisation applications, verification by the right region, roles, tokens, audit."""

import pytest

from innocommons.accounts import services
from innocommons.accounts.models import ApiToken, Membership, Organisation
from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


def _apply(user, **kw):
    data = {
        "name_zh": "常州武进智造有限公司",
        "type": "enterprise",
        "credit_code": factories.credit_code("320412"),
        "region": "320412",
        **kw,
    }
    return services.apply_organisation(actor=user, data=services.OrganisationInput(**data))


def test_apply_creates_pending_org_with_applicant_as_admin_and_audits() -> None:
    u = factories.user()
    org = _apply(u)
    assert org.status == Organisation.Status.PENDING
    assert not org.credit_code_flagged
    assert Membership.objects.get(user=u, organisation=org).role == "admin"
    entry = AuditEntry.objects.get(action="organisation.apply", target_id=str(org.pk))
    assert entry.actor == u and entry.after["status"] == "pending"


def test_bad_check_character_is_flagged_for_the_verifier() -> None:
    org = _apply(factories.user(), credit_code="91350100M0001TGQXM", region="310117")
    assert org.credit_code_flagged


@pytest.mark.parametrize("code", ["123", "91350100M000100YI3", ""])
def test_malformed_credit_code_is_rejected_naming_the_field(code: str) -> None:
    with pytest.raises(DomainError) as exc:
        _apply(factories.user(), credit_code=code)
    assert exc.value.field == "credit_code"
    assert not Organisation.objects.exists()


def test_duplicate_credit_code_is_a_conflict() -> None:
    code = factories.credit_code("320412")
    _apply(factories.user(), credit_code=code)
    with pytest.raises(DomainError) as exc:
        _apply(factories.user(), credit_code=code)
    assert exc.value.status == 409


def test_unknown_region_is_rejected() -> None:
    with pytest.raises(DomainError) as exc:
        _apply(factories.user(), region="999999")
    assert exc.value.field == "region"


def test_only_the_regions_administrator_verifies(world) -> None:
    for actor in (
        world.admin_zj,
        world.operator,
        world.auditor,
        world.org_admin,
        world.enterprise_member,
    ):
        with pytest.raises(DomainError) as exc:
            services.verify_organisation(actor=actor, organisation_id=world.pending.pk)
        assert exc.value.status == 403
    org = services.verify_organisation(
        actor=world.admin_js, organisation_id=world.pending.pk, note="材料齐全"
    )
    assert org.status == "verified" and org.verified_at is not None
    entry = AuditEntry.objects.get(action="organisation.verified")
    assert entry.actor == world.admin_js
    assert entry.before == {"status": "pending", "reason": ""}
    assert entry.after["status"] == "verified"


def test_provincial_admin_covers_cities_below(world) -> None:
    # world.pending is in Suzhou (320500), under Jiangsu (320000).
    assert services.verify_organisation(actor=world.admin_js, organisation_id=world.pending.pk)


def test_reject_needs_a_reason_and_is_audited(world) -> None:
    with pytest.raises(DomainError) as exc:
        services.reject_organisation(
            actor=world.admin_js, organisation_id=world.pending.pk, reason=" "
        )
    assert exc.value.field == "reason"
    org = services.reject_organisation(
        actor=world.admin_js, organisation_id=world.pending.pk, reason="营业执照模糊"
    )
    assert org.status == "rejected" and org.status_reason == "营业执照模糊"
    assert AuditEntry.objects.filter(action="organisation.rejected").count() == 1


def test_member_roles_keep_at_least_one_admin(world) -> None:
    with pytest.raises(DomainError):
        services.set_member_role(
            actor=world.org_admin,
            organisation_id=world.provider.pk,
            user_id=world.org_admin.pk,
            role="member",
        )
    with pytest.raises(DomainError) as exc:
        services.set_member_role(
            actor=world.provider_member,
            organisation_id=world.provider.pk,
            user_id=world.provider_member.pk,
            role="admin",
        )
    assert exc.value.status == 403
    services.set_member_role(
        actor=world.org_admin,
        organisation_id=world.provider.pk,
        user_id=world.provider_member.pk,
        role="admin",
    )
    assert AuditEntry.objects.filter(action="membership.role").count() == 1


def test_staff_roles_only_by_operator_and_audited(world) -> None:
    with pytest.raises(DomainError):
        services.grant_staff_role(
            actor=world.admin_js,
            user_id=world.outsider.pk,
            role="regional_admin",
            region_code="330000",
        )
    role = services.grant_staff_role(
        actor=world.operator, user_id=world.outsider.pk, role="regional_admin", region_code="330000"
    )
    assert role.region_id == "330000"
    services.revoke_staff_role(actor=world.operator, staff_role_id=role.pk)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["staff_role.grant", "staff_role.revoke"]


def test_api_tokens_are_hashed_and_revocable(world) -> None:
    token, raw = services.create_api_token(actor=world.outsider, name="ci")
    assert raw.startswith("ic_") and raw not in token.key_hash
    assert services.user_for_token(raw) == world.outsider
    services.revoke_api_token(actor=world.outsider, token_id=token.pk)
    assert services.user_for_token(raw) is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_audit_log_is_append_only(world) -> None:
    _apply(world.outsider)
    entry = AuditEntry.objects.first()
    entry.note = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


@pytest.mark.parametrize(
    ("field", "value"),
    [("website", "javascript:alert(1)"), ("website", "ftp://x.cn"), ("contact_email", "a@")],
)
def test_links_shown_on_public_pages_are_validated(field: str, value: str) -> None:
    with pytest.raises(DomainError) as exc:
        _apply(factories.user(), **{field: value})
    assert exc.value.field == field


def test_granting_a_role_to_an_unknown_user_is_a_404_and_grants_are_audited_once(world) -> None:
    with pytest.raises(DomainError) as exc:
        services.grant_staff_role(actor=world.operator, user_id=999_999, role="auditor")
    assert exc.value.status == 404
    for _ in range(2):
        services.grant_staff_role(actor=world.operator, user_id=world.outsider.pk, role="auditor")
    assert AuditEntry.objects.filter(action="staff_role.grant").count() == 1


def test_decisions_follow_the_organisation_states(world) -> None:
    js = world.admin_js
    with pytest.raises(DomainError) as exc:  # a verified organisation is not "rejected"
        services.reject_organisation(actor=js, organisation_id=world.provider.pk, reason="x")
    assert exc.value.status == 409
    with pytest.raises(DomainError):  # only verified organisations are suspended
        services.suspend_organisation(actor=js, organisation_id=world.pending.pk, reason="x")
    services.suspend_organisation(actor=js, organisation_id=world.provider.pk, reason="核查")
    org = services.verify_organisation(actor=js, organisation_id=world.provider.pk)
    assert org.status == "verified"
    assert AuditEntry.objects.filter(action="organisation.suspended").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_applications_with_one_code_give_one_organisation() -> None:
    import threading

    from django.db import connection

    code = factories.credit_code("320412")
    users = [factories.user(), factories.user()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def apply(user) -> None:
        barrier.wait()
        try:
            _apply(user, credit_code=code)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(str(exc.status))
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["409", "ok"]
    assert Organisation.objects.filter(credit_code=code).count() == 1
