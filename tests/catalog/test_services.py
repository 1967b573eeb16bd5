"""Listing writes: permissions, validation, state changes, outbox and audit."""

import pytest

from innocommons.catalog import services
from innocommons.catalog.models import Resource, SearchOutbox
from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


def test_member_creates_a_draft_instrument_with_details(world) -> None:
    r = services.create_resource(
        actor=world.provider_member,
        owner_id=world.provider.pk,
        kind="instrument",
        data={
            "title_zh": "600兆核磁共振波谱仪",
            "title_en": "600 MHz NMR spectrometer",
            "keywords": "核磁；NMR、波谱",
            "field": "02",
            "manufacturer": "Bruker",
            "model_name": "AVANCE NEO 600",
            "original_value_yuan": "6,800,000",
            "fee_per_hour_yuan": "600.50",
        },
    )
    assert r.status == "draft" and r.region_id == "320100"
    assert r.keywords == "核磁;NMR;波谱"
    assert r.instrument.original_value_fen == 680_000_000
    assert r.instrument.fee_per_hour_fen == 60_050
    assert r.instrument.is_large
    assert SearchOutbox.objects.filter(resource_id=r.pk).exists()


@pytest.mark.parametrize("actor_name", ["enterprise_member", "admin_js", "auditor", "outsider"])
def test_only_members_of_the_owner_can_create(world, actor_name) -> None:
    with pytest.raises(DomainError) as exc:
        services.create_resource(
            actor=getattr(world, actor_name),
            owner_id=world.provider.pk,
            kind="service",
            data={"title_zh": "检测"},
        )
    assert exc.value.status == 403
    assert not Resource.objects.exists()


def test_validation_names_every_bad_field(world) -> None:
    with pytest.raises(DomainError) as exc:
        services.create_resource(
            actor=world.provider_member,
            owner_id=world.provider.pk,
            kind="achievement",
            data={
                "title_zh": "",
                "trl": "12",
                "price_yuan": "-5",
                "field": "99",
                "transfer_modes": "赠送",
            },
        )
    fields = {e["field"] for e in exc.value.errors()}
    assert {"title_zh", "trl", "price_yuan", "field", "transfer_modes"} <= fields
    assert not Resource.objects.exists()


def test_huge_and_hostile_strings_are_rejected_cleanly(world) -> None:
    with pytest.raises(DomainError) as exc:
        services.create_resource(
            actor=world.provider_member,
            owner_id=world.provider.pk,
            kind="service",
            data={"title_zh": "x" * 10_000, "price_yuan": "1e400"},
        )
    assert {e["field"] for e in exc.value.errors()} >= {"title_zh", "price_yuan"}


def test_publish_requires_a_verified_owner(world) -> None:
    r = services.create_resource(
        actor=world.org_admin,
        owner_id=world.pending.pk,
        kind="service",
        data={"title_zh": "材料检测"},
    )
    with pytest.raises(DomainError) as exc:
        services.set_resource_status(actor=world.org_admin, resource_id=r.pk, status="published")
    assert exc.value.status == 409


def test_status_changes_are_audited(world) -> None:
    r = factories.resource(world.provider, actor=world.provider_member, publish=False)
    services.set_resource_status(actor=world.provider_member, resource_id=r.pk, status="published")
    services.set_resource_status(actor=world.provider_member, resource_id=r.pk, status="archived")
    r.refresh_from_db()
    assert r.status == "archived" and r.published_at is not None
    actions = list(AuditEntry.objects.filter(target_id=str(r.pk)).values_list("action", flat=True))
    assert "resource.published" in actions and "resource.archived" in actions


def test_partial_update_keeps_other_fields(world) -> None:
    r = factories.resource(
        world.provider,
        actor=world.provider_member,
        kind="achievement",
        title_zh="固态电池电解质",
        trl=5,
        price_yuan="2000000",
    )
    services.update_resource(
        actor=world.provider_member, resource_id=r.pk, data={"summary_zh": "新简介"}
    )
    r = Resource.objects.get(pk=r.pk)
    assert r.summary_zh == "新简介" and r.title_zh == "固态电池电解质"
    assert r.achievement.trl == 5 and r.price_fen == 200_000_000


def test_other_organisations_cannot_update(world) -> None:
    r = factories.resource(world.provider, actor=world.provider_member)
    with pytest.raises(DomainError) as exc:
        services.update_resource(
            actor=world.enterprise_member, resource_id=r.pk, data={"title_zh": "hijack"}
        )
    assert exc.value.status == 403
