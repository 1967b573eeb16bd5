"""The order state machine: every step from every state, by every party; the rules on
requests, quotes, invoices, ratings and delivered reports."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from innocommons.core.errors import DomainError
from innocommons.core.models import AuditEntry
from innocommons.orders import services
from innocommons.orders.models import Order
from tests import factories
from tests.orders.factories import ROUTE, at, book, instrument, order, order_in, pdf, service, step

pytestmark = pytest.mark.django_db

STATUSES = list(ROUTE)
# Written out here, independently of workflow.STEPS, so the table is checked, not echoed.
ALLOWED_FROM = {
    "quote": {"requested", "quoted"},
    "accept": {"quoted"},
    "decline": {"requested", "quoted"},
    "start": {"accepted"},
    "deliver": {"in_progress"},
    "complete": {"delivered"},
    "close": {"completed"},
    "cancel": {"requested", "quoted", "accepted"},
    "invoice": {"completed", "closed"},
    "rate": {"completed", "closed"},
}
PARTY = {
    "quote": "provider",
    "accept": "client",
    "decline": "provider",
    "start": "provider",
    "deliver": "provider",
    "complete": "client",
    "close": "client",  # either; the provider is checked below
    "cancel": "client",  # either
    "invoice": "provider",
    "rate": "client",
}
RESULT = {
    "quote": "quoted",
    "accept": "accepted",
    "decline": "declined",
    "start": "in_progress",
    "deliver": "delivered",
    "complete": "completed",
    "close": "closed",
    "cancel": "cancelled",
}


def refused(fn, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kw)
    return exc.value


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(ALLOWED_FROM))
def test_every_step_from_every_state(world, action, status) -> None:
    o = order_in(world, status)
    if status in ALLOWED_FROM[action]:
        step(world, o.pk, action, PARTY[action])
        o.refresh_from_db()
        assert o.status == RESULT.get(action, status)
        assert AuditEntry.objects.filter(action=f"order.{action}", target_id=str(o.pk)).exists()
    else:
        err = refused(step, world, o.pk, action, PARTY[action])
        assert err.status == 409
        o.refresh_from_db()
        assert o.status == status


WRONG_PARTY = {
    "quote": ("requested", "client"),
    "accept": ("quoted", "provider"),
    "decline": ("quoted", "client"),
    "start": ("accepted", "client"),
    "deliver": ("in_progress", "client"),
    "complete": ("delivered", "provider"),
    "invoice": ("completed", "client"),
    "rate": ("completed", "provider"),
}


@pytest.mark.parametrize("action", list(WRONG_PARTY))
def test_the_other_party_is_refused(world, action) -> None:
    status, who = WRONG_PARTY[action]
    o = order_in(world, status)
    assert refused(step, world, o.pk, action, who).status == 403
    o.refresh_from_db()
    assert o.status == status


@pytest.mark.parametrize("action", list(ALLOWED_FROM))
def test_outsiders_and_staff_cannot_act(world, action) -> None:
    status = sorted(ALLOWED_FROM[action])[0]
    o = order_in(world, status)
    assert refused(step, world, o.pk, action, world.outsider).status == 404
    assert refused(step, world, o.pk, action, world.admin_js).status == 404
    # Operators and auditors may read orders, not move them.
    assert refused(step, world, o.pk, action, world.operator).status == 403
    assert refused(step, world, o.pk, action, world.auditor).status == 403


def test_either_party_closes_and_cancels(world) -> None:
    o = order_in(world, "completed")
    assert step(world, o.pk, "close", "provider").status == "closed"
    o2 = order_in(world, "accepted")
    err = refused(step, world, o2.pk, "cancel", "provider", reason="")
    assert err.field == "reason"  # the provider must say why
    done = step(world, o2.pk, "cancel", "provider", reason="设备停用")
    assert done.status == "cancelled" and done.status_reason == "设备停用"
    o3 = order_in(world, "requested")
    assert step(world, o3.pk, "cancel", "client", reason="").status == "cancelled"


def test_decline_needs_a_reason(world) -> None:
    o = order_in(world, "requested")
    assert refused(step, world, o.pk, "decline", "provider", reason="  ").field == "reason"


def test_full_path_fixes_the_fee_and_records_the_work(world) -> None:
    o = order(world)
    assert re.fullmatch(r"OR\d{4}-\d{6}", o.ref) and o.ref.endswith(f"{o.pk:06d}")
    step(world, o.pk, "quote", "provider", amount_fen=250_000)
    first = Order.objects.get(pk=o.pk).status_changed_at
    revised = step(world, o.pk, "quote", "provider", amount_fen=280_000)  # a revised quote
    assert revised.quote_fen == 280_000 and revised.status_changed_at >= first
    accepted = step(world, o.pk, "accept", "client")
    assert accepted.fee_fen == 280_000
    step(world, o.pk, "start", "provider")
    delivered = step(world, o.pk, "deliver", "provider", service_hours="2.5")
    assert delivered.service_hours == Decimal("2.50") and delivered.report.name.endswith(".pdf")
    completed = step(world, o.pk, "complete", "client")
    assert completed.completed_at is not None
    # The fee stays as agreed whatever happens to the quote field later.
    assert Order.objects.get(pk=o.pk).fee_fen == 280_000


def test_quote_amount_is_checked(world) -> None:
    o = order_in(world, "requested")
    for bad in (-1, True, 1.5, "100"):
        assert refused(step, world, o.pk, "quote", "provider", amount_fen=bad).field == "amount_fen"
    assert step(world, o.pk, "quote", "provider", amount_fen=0).quote_fen == 0


def test_order_refs_are_unique(world) -> None:
    s = service(world)
    refs = {order(world, s).ref for _ in range(5)}
    assert len(refs) == 5


def test_request_rules(world) -> None:
    s = service(world)
    ask = services.request_order
    args = dict(client_id=world.enterprise.pk, resource_id=s.pk, description="检测")
    assert refused(ask, actor=world.outsider, **args).status == 403
    err = refused(ask, actor=world.org_admin, **(args | {"client_id": world.pending.pk}))
    assert err.status == 403 and err.field == "client"  # not verified
    err = refused(ask, actor=world.provider_member, **(args | {"client_id": world.provider.pk}))
    assert err.field == "resource"  # not from itself
    achievement = factories.resource(world.provider, actor=world.provider_member)
    assert (
        refused(
            ask, actor=world.enterprise_member, **(args | {"resource_id": achievement.pk})
        ).status
        == 400
    )
    draft = factories.resource(
        world.provider, actor=world.provider_member, kind="service", publish=False
    )
    assert (
        refused(ask, actor=world.enterprise_member, **(args | {"resource_id": draft.pk})).status
        == 404
    )
    assert (
        refused(ask, actor=world.enterprise_member, **(args | {"description": " "})).field
        == "description"
    )


def test_instrument_order_for_the_clients_own_booking(world) -> None:
    r = instrument(world)
    b = book(world, r, at(3, "10:00"), at(3, "12:30"))
    o = order(world, r, booking_id=b.pk, description="")
    assert o.booking_id == b.pk
    again = refused(order, world, r, booking_id=b.pk)
    assert again.status == 409 and again.field == "booking"
    # Someone else's booking is invisible; a booking is for its own instrument only.
    other_org = factories.org()
    other_user = factories.user()
    factories.member(other_user, other_org)
    theirs = book(
        world, r, at(4, "10:00"), at(4, "11:00"), actor=other_user, organisation_id=other_org.pk
    )
    assert refused(order, world, r, booking_id=theirs.pk).status == 404
    r2 = instrument(world, title_zh="透射电镜")
    b2 = book(world, r, at(5, "10:00"), at(5, "11:00"))
    assert refused(order, world, r2, booking_id=b2.pk).field == "booking"
    assert refused(order, world, service(world), booking_id=b2.pk).field == "booking"
    # Delivery without hours takes the booked time.
    for name, who in ROUTE["in_progress"]:
        step(world, o.pk, name, who)
    delivered = step(world, o.pk, "deliver", "provider", service_hours=None)
    assert delivered.service_hours == Decimal("2.50")


def test_service_hours_are_required_without_a_booking(world) -> None:
    o = order_in(world, "in_progress")
    assert (
        refused(step, world, o.pk, "deliver", "provider", service_hours=None).field
        == "service_hours"
    )
    assert (
        refused(step, world, o.pk, "deliver", "provider", service_hours="-1").field
        == "service_hours"
    )
    assert (
        refused(step, world, o.pk, "deliver", "provider", service_hours="abc").field
        == "service_hours"
    )


def test_invoice_numbers_are_unique_per_provider(world) -> None:
    a = order_in(world, "completed")
    b = order_in(world, "closed")
    step(world, a.pk, "invoice", "provider", invoice_no="FP-2026-001")
    err = refused(step, world, b.pk, "invoice", "provider", invoice_no=" FP-2026-001 ")
    assert err.status == 409 and err.field == "invoice_no"
    step(world, b.pk, "invoice", "provider", invoice_no="FP-2026-002")
    assert refused(step, world, b.pk, "invoice", "provider", invoice_no="").field == "invoice_no"
    # Another provider may use the same number.
    other = factories.org(type="institute", region="340100")
    staff = factories.user()
    factories.member(staff, other)
    s = factories.resource(other, actor=staff, kind="service")
    c = order(world, s)
    for name, who in ROUTE["completed"]:
        step(world, c.pk, name, staff if who == "provider" else who)
    assert services.set_invoice_number(actor=staff, order_id=c.pk, invoice_no="FP-2026-001")


def test_rating_once_from_one_to_five(world) -> None:
    o = order_in(world, "completed")
    for bad in (0, 6, True):
        assert refused(step, world, o.pk, "rate", "client", score=bad).field == "score"
    rating = step(world, o.pk, "rate", "client", score=4, comment="出报告快")
    assert rating.score == 4 and rating.order_id == o.pk
    assert refused(step, world, o.pk, "rate", "client", score=5).status == 409


def docx(members=("word/document.xml",)) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for m in members:
            z.writestr(m, "<x/>")
    return buf.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60


@pytest.mark.parametrize(
    ("name", "content", "ok"),
    [
        ("report.pdf", b"%PDF-1.7\n...", True),
        ("REPORT.PDF", b"%PDF-1.7\n...", True),
        ("photo.png", PNG, True),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, True),
        ("data.zip", docx(("a.csv",)), True),
        ("report.docx", docx(), True),
        ("sheet.xlsx", docx(("xl/workbook.xml",)), True),
        ("report.exe", EXE, False),  # wrong type
        ("report.html", b"<html></html>", False),
        ("report", b"%PDF-1.7", False),  # no extension
        ("report.pdf", EXE, False),  # spoofed extension
        ("report.pdf", PNG, False),
        ("report.png", b"%PDF-1.7", False),
        ("report.docx", docx(("a.csv",)), False),  # a zip, but not a Word file
        ("report.xlsx", docx(), False),
        ("report.pdf", b"", False),  # empty
    ],
)
def test_report_type_and_content(world, name, content, ok) -> None:
    o = order_in(world, "in_progress")
    upload = SimpleUploadedFile(name, content)
    if ok:
        done = step(world, o.pk, "deliver", "provider", report=upload)
        assert done.status == "delivered" and done.report.read() == content
    else:
        err = refused(step, world, o.pk, "deliver", "provider", report=upload)
        assert err.field == "report" and err.status == 400


def test_report_size_limit(world) -> None:
    o = order_in(world, "in_progress")
    big = pdf(content=b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024))
    err = refused(step, world, o.pk, "deliver", "provider", report=big)
    assert err.field == "report" and "20 MiB" in err.message
    just = pdf(content=b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024 - 9))
    assert step(world, o.pk, "deliver", "provider", report=just).status == "delivered"


def test_a_failed_delivery_leaves_no_file(world, media_root, monkeypatch) -> None:
    o = order_in(world, "in_progress")

    def broken(**kw):
        raise RuntimeError("audit log unavailable")

    # Fails after the report was stored: the transaction rolls back, the file goes too.
    monkeypatch.setattr("innocommons.orders.services.orders.audit.record", broken)
    with pytest.raises(RuntimeError):
        step(world, o.pk, "deliver", "provider")
    assert not any(p.is_file() for p in media_root.rglob("*"))
    assert Order.objects.get(pk=o.pk).status == "in_progress"
