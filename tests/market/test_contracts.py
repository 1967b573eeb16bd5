"""Technology contracts: validation, the registrar's region, due dates, registration
numbers, refusal and appeal, drafts from awards, and the audit trail."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from innocommons.core.errors import DomainError, ValidationFailed
from innocommons.core.models import AuditEntry
from innocommons.market.models import REVIEW_DAYS, TechContract
from innocommons.market.selectors import contracts as selectors
from innocommons.market.services import contracts as services
from tests import factories

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pdf(name: str = "contract.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def docx() -> SimpleUploadedFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return SimpleUploadedFile("contract.docx", buf.getvalue())


def data(world, **overrides) -> services.ContractInput:
    values = {
        "seller_id": world.provider.pk,
        "title": "毫米波雷达芯片技术开发合同",
        "type": "development",
        "subtype": "commissioned",
        "buyer_id": world.enterprise.pk,
        "amount_fen": 1_000_000_00,
        "tech_amount_fen": 800_000_00,
        "field": "electronics",
        "signed_on": timezone.localdate() - timedelta(days=3),
    }
    values.update(overrides)
    return services.ContractInput(**values)


def submitted(world, **overrides) -> TechContract:
    return services.create_contract(
        actor=world.provider_member, data=data(world, **overrides), file=pdf(), submit=True
    )


def fields_of(exc: ValidationFailed) -> set[str]:
    return {e["field"] for e in exc.errors()}


# --- validation -------------------------------------------------------------------------


def test_tech_amount_cannot_exceed_contract_amount(world) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.create_contract(
            actor=world.provider_member,
            data=data(world, amount_fen=100_00, tech_amount_fen=100_01),
        )
    assert fields_of(exc.value) == {"tech_amount_fen"}
    # Equal is fine.
    c = services.create_contract(
        actor=world.provider_member, data=data(world, amount_fen=100_00, tech_amount_fen=100_00)
    )
    assert c.status == "draft" and c.tech_amount_fen == c.amount_fen


@pytest.mark.parametrize(
    ("type_", "subtype", "ok"),
    [
        ("development", "cooperative", True),
        ("transfer", "patent_application", True),
        ("licence", "secret_licence", True),
        ("service", "brokerage", True),
        ("development", "patent_right", False),
        ("licence", "training", False),
        ("consulting", "commissioned", False),
    ],
)
def test_subtype_must_belong_to_type(world, type_, subtype, ok) -> None:
    payload = data(world, type=type_, subtype=subtype)
    if ok:
        assert (
            services.create_contract(actor=world.provider_member, data=payload).subtype == subtype
        )
    else:
        with pytest.raises(ValidationFailed) as exc:
            services.create_contract(actor=world.provider_member, data=payload)
        assert fields_of(exc.value) == {"subtype"}


def test_every_problem_is_reported_at_once(world) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.create_contract(
            actor=world.provider_member,
            data=data(
                world,
                title=" ",
                amount_fen=0,
                field="space-opera",
                payment_method="barter",
                signed_on=timezone.localdate() + timedelta(days=1),
                buyer_id=None,
                buyer_name="",
                buyer_region="XX",
            ),
        )
    assert fields_of(exc.value) == {
        "title",
        "amount_fen",
        "field",
        "payment_method",
        "signed_on",
        "buyer_name",
        "buyer_region",
    }
    assert not TechContract.objects.exists()


def test_foreign_buyer_by_name_and_region(world) -> None:
    c = services.create_contract(
        actor=world.provider_member,
        data=data(world, buyer_id=None, buyer_name="Fraunhofer IZM", buyer_region="DE"),
    )
    assert c.buyer is None and c.buyer_name == "Fraunhofer IZM" and c.buyer_region_id == "DE"


def test_buyer_cannot_be_the_seller(world) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.create_contract(
            actor=world.provider_member, data=data(world, buyer_id=world.provider.pk)
        )
    assert fields_of(exc.value) == {"buyer"}


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("c.exe", b"MZ\x90\x00"), "file types"),
        (SimpleUploadedFile("c.pdf", b"MZ\x90\x00 not a pdf"), "content"),
        (SimpleUploadedFile("c.docx", b"PK\x03\x04junk"), "content"),
        (SimpleUploadedFile("c.pdf", b""), "empty"),
        (SimpleUploadedFile("c.png", b"%PDF-1.4 renamed"), "content"),
    ],
)
def test_file_type_is_checked_by_content(world, upload, message) -> None:
    with translation.override("en"), pytest.raises(DomainError) as exc:
        services.create_contract(actor=world.provider_member, data=data(world), file=upload)
    assert exc.value.field == "file"
    assert message in str(exc.value.message)


def test_file_size_limit_is_20_mib(world, monkeypatch) -> None:
    big = pdf(content=PDF + b"0" * 64)
    monkeypatch.setattr(big, "size", 20 * 1024 * 1024 + 1)
    with pytest.raises(DomainError) as exc:
        services.create_contract(actor=world.provider_member, data=data(world), file=big)
    assert exc.value.field == "file" and "20 MiB" in str(exc.value.message)
    ok = services.create_contract(actor=world.provider_member, data=data(world), file=docx())
    assert ok.file_name == "contract.docx"


def test_submission_needs_the_file_and_a_verified_seller(world) -> None:
    c = services.create_contract(actor=world.provider_member, data=data(world))
    with pytest.raises(DomainError) as exc:
        services.submit_contract(actor=world.provider_member, contract_id=c.pk)
    assert exc.value.field == "file"
    services.attach_file(actor=world.provider_member, contract_id=c.pk, file=pdf())
    with pytest.raises(DomainError) as exc:
        services.create_contract(
            actor=world.org_admin,
            data=data(
                world,
                seller_id=world.pending.pk,
                buyer_id=None,
                buyer_name="某公司",
                buyer_region="320500",
            ),
        )
    assert exc.value.status == 403
    assert (
        services.submit_contract(actor=world.provider_member, contract_id=c.pk).status
        == "submitted"
    )


# --- due date and registrar ---------------------------------------------------------------


def test_due_date_is_submission_plus_30_days_and_overdue_is_flagged(world) -> None:
    c = submitted(world)
    assert c.due_on == timezone.localdate() + timedelta(days=REVIEW_DAYS)
    assert not c.is_overdue and c.days_left == REVIEW_DAYS
    TechContract.objects.filter(pk=c.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    c.refresh_from_db()
    assert c.is_overdue
    assert [x.pk for x in selectors.registrar_queue(world.admin_js, overdue=True)] == [c.pk]
    assert selectors.queue_counts(world.admin_js) == {"waiting": 1, "overdue": 1}


def test_only_the_seller_regions_registrar_decides(world) -> None:
    c = submitted(world)  # seller in Nanjing, Jiangsu
    for outsider in (world.admin_zj, world.operator, world.auditor, world.enterprise_member):
        with pytest.raises(DomainError) as exc:
            services.register_contract(actor=outsider, contract_id=c.pk)
        assert exc.value.status == 403
        with pytest.raises(DomainError) as exc:
            services.refuse_contract(actor=outsider, contract_id=c.pk, reason="不是技术合同")
        assert exc.value.status == 403
    assert not selectors.registrar_queue(world.admin_zj).exists()
    # A city-level registrar of Nanjing counts too.
    city_admin = factories.user("adm_nj")
    factories.staff(city_admin, "regional_admin", "320100")
    assert services.can_register(city_admin, c)


def test_register_issues_number_and_confirms_type_and_amount(world) -> None:
    c = submitted(world)
    done = services.register_contract(
        actor=world.admin_js,
        contract_id=c.pk,
        type="development",
        subtype="cooperative",
        tech_amount_fen=700_000_00,
        note="核定技术交易额",
    )
    year = timezone.localdate().year
    assert done.status == "registered"
    assert done.registration_no == f"320000{year}000001"
    assert done.subtype == "cooperative" and done.registered_tech_amount_fen == 700_000_00
    assert done.registered_on == timezone.localdate()
    assert done.tech_amount_fen == 800_000_00  # the claim stays on record
    second = services.register_contract(actor=world.admin_js, contract_id=submitted(world).pk)
    assert second.registration_no == f"320000{year}000002"
    with pytest.raises(DomainError) as exc:
        services.register_contract(actor=world.admin_js, contract_id=c.pk)
    assert exc.value.status == 409
    entry = AuditEntry.objects.filter(action="market.contract.register", target_id=str(c.pk)).get()
    assert entry.actor == world.admin_js and entry.region_id == "320100"
    assert entry.after["registration_no"] == done.registration_no


def test_registrar_cannot_register_more_than_the_contract_amount(world) -> None:
    c = submitted(world)
    with pytest.raises(DomainError) as exc:
        services.register_contract(
            actor=world.admin_js, contract_id=c.pk, tech_amount_fen=c.amount_fen + 1
        )
    assert exc.value.field == "tech_amount_fen"
    with pytest.raises(DomainError) as exc:
        services.register_contract(
            actor=world.admin_js, contract_id=c.pk, type="licence", subtype="commissioned"
        )
    assert exc.value.field == "subtype"


def test_numbers_skip_ones_already_taken_by_imports(world) -> None:
    year = timezone.localdate().year
    first = submitted(world)
    TechContract.objects.filter(pk=first.pk).update(
        status="registered",
        registration_no=f"320000{year}000001",
        registered_on=timezone.localdate(),
        registered_tech_amount_fen=1,
    )
    c = services.register_contract(actor=world.admin_js, contract_id=submitted(world).pk)
    assert c.registration_no == f"320000{year}000002"


def test_refuse_needs_reasons_and_appeal_goes_back_to_review(world) -> None:
    c = submitted(world)
    with pytest.raises(DomainError) as exc:
        services.refuse_contract(actor=world.admin_js, contract_id=c.pk, reason="  ")
    assert exc.value.field == "reason"
    refused = services.refuse_contract(
        actor=world.admin_js, contract_id=c.pk, reason="合同标的不属于技术开发"
    )
    assert refused.status == "refused" and refused.decision_reason == "合同标的不属于技术开发"
    with pytest.raises(DomainError) as exc:
        services.appeal_contract(actor=world.admin_js, contract_id=c.pk, statement="x")
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        services.appeal_contract(actor=world.provider_member, contract_id=c.pk, statement="")
    assert exc.value.field == "statement"
    # The appeal is reviewed afresh: a new due date from the day of the appeal.
    TechContract.objects.filter(pk=c.pk).update(due_on=date(2020, 1, 1))
    again = services.appeal_contract(
        actor=world.provider_member,
        contract_id=c.pk,
        statement="附件三为技术开发任务书，请复核。",
        file=pdf("corrected.pdf"),
    )
    assert again.status == "submitted" and again.appeals == 1
    assert again.due_on == timezone.localdate() + timedelta(days=REVIEW_DAYS)
    assert again.file_name == "corrected.pdf"
    with pytest.raises(DomainError) as exc:
        services.appeal_contract(actor=world.provider_member, contract_id=c.pk, statement="again")
    assert exc.value.status == 409
    assert services.register_contract(actor=world.admin_js, contract_id=c.pk).registration_no
    actions = list(
        AuditEntry.objects.filter(target_id=str(c.pk), target_type="market.techcontract")
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "market.contract.create",
        "market.contract.submit",
        "market.contract.refuse",
        "market.contract.appeal",
        "market.contract.register",
    ]


def test_regions_are_copied_at_submission(world) -> None:
    c = services.create_contract(actor=world.provider_member, data=data(world), file=pdf())
    # The buyer moves before submission: the submission records where it is then.
    world.enterprise.region_id = "330100"
    world.enterprise.save()
    services.submit_contract(actor=world.provider_member, contract_id=c.pk)
    c.refresh_from_db()
    assert (c.seller_region_id, c.buyer_region_id) == ("320100", "330100")
    # Later moves do not rewrite history.
    world.enterprise.region_id = "340100"
    world.enterprise.save()
    c.refresh_from_db()
    assert c.buyer_region_id == "330100"


# --- drafts from auctions and challenges --------------------------------------------------


def test_generated_draft_keeps_parties_and_amount(world) -> None:
    draft = services.create_draft(
        seller=world.provider,
        buyer=world.enterprise,
        title="揭榜项目",
        amount_fen=500_000_00,
        type="development",
        field="electronics",
        source="challenge",
        source_ref="challenge:1",
        actor=world.enterprise_member,
    )
    assert draft.status == "draft" and draft.subtype == "commissioned"
    with pytest.raises(DomainError) as exc:
        services.update_contract(
            actor=world.provider_member, contract_id=draft.pk, changes={"amount_fen": 1}
        )
    assert exc.value.field == "amount_fen"
    with pytest.raises(DomainError) as exc:
        services.update_contract(
            actor=world.enterprise_member, contract_id=draft.pk, changes={"title": "x"}
        )
    assert exc.value.status == 403
    services.update_contract(
        actor=world.provider_member,
        contract_id=draft.pk,
        changes={"tech_amount_fen": 450_000_00, "payment_method": "instalments"},
    )
    services.attach_file(actor=world.provider_member, contract_id=draft.pk, file=pdf())
    done = services.submit_contract(actor=world.provider_member, contract_id=draft.pk)
    assert done.status == "submitted" and done.amount_fen == 500_000_00
    with pytest.raises(DomainError) as exc:
        services.update_contract(
            actor=world.provider_member, contract_id=draft.pk, changes={"title": "late"}
        )
    assert exc.value.status == 409


# --- visibility -----------------------------------------------------------------------------


def test_who_sees_a_contract_and_its_file(world) -> None:
    draft = services.create_contract(actor=world.provider_member, data=data(world), file=pdf())
    c = submitted(world)
    visible = {
        "seller": world.provider_member,
        "buyer": world.enterprise_member,
        "registrar": world.admin_js,
        "other registrar": world.admin_zj,
        "operator": world.operator,
        "auditor": world.auditor,
        "outsider": world.outsider,
    }
    sees = {
        k: set(selectors.visible_contracts(u).values_list("pk", flat=True))
        for k, u in visible.items()
    }
    assert sees["seller"] == {draft.pk, c.pk}
    assert sees["buyer"] == {draft.pk, c.pk}
    assert sees["registrar"] == {c.pk}  # not the draft
    assert sees["operator"] == sees["auditor"] == {c.pk}
    assert sees["other registrar"] == sees["outsider"] == set()
    downloads = {k: selectors.can_download(u, c) for k, u in visible.items()}
    assert downloads == {
        "seller": True,
        "buyer": True,
        "registrar": True,
        "other registrar": False,
        "operator": False,
        "auditor": False,
        "outsider": False,
    }
