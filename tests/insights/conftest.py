"""The hand-built scenarios of the statistics tests, with their known answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from innocommons.insights import regions
from innocommons.market.models import TechContract
from tests.insights import factories as cf

W = cf.WAN  # 10k yuan in fen


@dataclass
class Contracts:
    """Registered in 2025 unless said otherwise (amount / tech amount in 万元):

    1  Nanjing 320100 → Shanghai Pudong 310115   1000 / 800  transfer     electronics  03-10
    2  Suzhou 320500 → Hangzhou 330100            500 / 500  development  manufacturing 06-30
    3  Wujin 320412 → Nanjing 320100              300 / 200  service      electronics  01-01
    4  Shanghai Xuhui 310104 → Germany DE         200 / 200  licence      biomedicine  12-31
    5  Hefei 340100 → Beijing 110000              400 / 300  consulting   energy       07-15
    6  Beijing 110000 → Ningbo 330200             600 / 600  transfer     materials    09-01
    7  United States US → Hefei 340100            100 / 100  licence      electronics  02-14
    2024: Nanjing → Pudong 250 / 250 transfer electronics 2024-03-05
    2026: Pudong → Wuhu 340200 50 / 50 2026-01-01
    never counted: a refused one (9999), a submitted one (7777), a draft (5555)
    """

    registered: list[TechContract]
    refused: TechContract
    submitted: TechContract
    draft: TechContract


@pytest.fixture
def contracts(db: Any) -> Contracts:
    regions.forget()
    c = cf.contract
    reg = [
        c("320100", "310115", amount_fen=1000 * W, tech_fen=800 * W, on=date(2025, 3, 10)),
        c(
            "320500",
            "330100",
            amount_fen=500 * W,
            type="development",
            field="manufacturing",
            on=date(2025, 6, 30),
        ),
        c(
            "320412",
            "320100",
            amount_fen=300 * W,
            tech_fen=200 * W,
            type="service",
            on=date(2025, 1, 1),
        ),
        c(
            "310104",
            "DE",
            amount_fen=200 * W,
            type="licence",
            field="biomedicine",
            on=date(2025, 12, 31),
        ),
        c(
            "340100",
            "110000",
            amount_fen=400 * W,
            tech_fen=300 * W,
            type="consulting",
            field="energy",
            on=date(2025, 7, 15),
        ),
        c("110000", "330200", amount_fen=600 * W, field="materials", on=date(2025, 9, 1)),
        c("US", "340100", amount_fen=100 * W, type="licence", on=date(2025, 2, 14)),
        c("320100", "310115", amount_fen=250 * W, on=date(2024, 3, 5)),
        c("310115", "340200", amount_fen=50 * W, on=date(2026, 1, 1)),
    ]
    refused = c("320100", "310115", amount_fen=9999 * W, status=TechContract.Status.REFUSED)
    submitted = c("330100", "340100", amount_fen=7777 * W, status=TechContract.Status.SUBMITTED)
    draft = c("330100", "340100", amount_fen=5555 * W, status=TechContract.Status.DRAFT)
    return Contracts(reg, refused, submitted, draft)


YUAN = cf.YUAN


@dataclass
class VoucherWorld:
    """One Shanghai programme (budget 1,000,000 yuan), this year:

    V1  100,000 yuan to the Songjiang enterprise; R1 50,000 at the Nanjing university
        (testing), claimed, approved and paid; then V1 expires half-spent (50,000 back).
    V2   20,000 yuan to a Pudong enterprise; R2 5,000 at a Shanghai lab, claimed and
        rejected (reversed); R3 8,000 at a Hangzhou institute (R&D); R4 2,000 at the
        Shanghai lab (no category), both live and unclaimed.
    Applications: V1 approved after 4 days, V2 after 2; one rejected (150,000 applied
    for by a firm called "保密企业甲"), one waiting.
    """

    programme: Any
    admin: Any
    vouchers: list[Any]
    redemptions: list[Any]
    claims: list[Any]


@pytest.fixture
def voucher_world(world: Any) -> VoucherWorld:
    from datetime import timedelta

    from django.utils import timezone

    from innocommons.insights import rollups
    from innocommons.vouchers import services
    from innocommons.vouchers.models import Application, Claim, Voucher
    from tests import factories as f
    from tests.vouchers import factories as vf

    regions.forget()
    admin = vf.regional_admin("310000")
    prog = vf.programme(admin, budget_fen=1_000_000 * YUAN, name_en="Shanghai test vouchers")
    e1 = world.enterprise
    e2 = f.org(name="浦东测试企业", region="310115")
    secret = f.org(name="保密企业甲", region="310104")
    lab_sh = f.org(name="徐汇测试实验室", type="service_provider", region="310104")
    inst_zj = f.org(name="杭州测试研究院", type="institute", region="330100")
    lab_member = vf.member_of(lab_sh)

    v1 = vf.voucher(prog, e1, 100_000 * YUAN, admin)
    v2 = vf.voucher(prog, e2, 20_000 * YUAN, admin)
    now = timezone.now()
    for v, days in ((v1, 4), (v2, 2)):
        Application.objects.filter(pk=v.application_id).update(
            created_at=Application.objects.get(pk=v.application_id).decided_at
            - timedelta(days=days)
        )
    rejected = services.apply_for_voucher(
        actor=vf.member_of(secret),
        programme_id=prog.pk,
        organisation_id=secret.pk,
        amount_fen=150_000 * YUAN,
        purpose="保密用途",
    )
    services.reject_application(actor=admin, application_id=rejected.pk, reason="材料不全")
    services.apply_for_voucher(
        actor=vf.member_of(e2),
        programme_id=prog.pk,
        organisation_id=e2.pk,
        amount_fen=10_000 * YUAN,
        purpose="检测",
    )

    def redeem(v: Voucher, client: Any, provider: Any, fee_yuan: int, category: str = ""):
        order = vf.completed_order(client, provider, fee_fen=fee_yuan * YUAN, category=category)
        holder = vf.member_of(client)
        r = services.redeem_voucher(actor=holder, voucher=v.code, order_id=order.pk)
        rollups.redemption_changed(r)
        return r

    r1 = redeem(v1, e1, world.provider, 100_000, "testing-materials")
    r2 = redeem(v2, e2, lab_sh, 10_000)
    c1 = services.submit_claim(
        actor=world.provider_member, provider_id=world.provider.pk, programme_id=prog.pk
    )
    c2 = services.submit_claim(actor=lab_member, provider_id=lab_sh.pk, programme_id=prog.pk)
    services.reject_claim(actor=admin, claim_id=c2.pk, reason="证据不足")
    rollups.redemptions_changed(list(c2.redemptions.all()))
    services.approve_claim(actor=admin, claim_id=c1.pk)
    batch = services.create_batch(actor=admin, programme_id=prog.pk, day=timezone.localdate())
    services.pay_batch(actor=admin, batch_id=batch.pk, payment_reference="BANK-1")
    c1.refresh_from_db()
    Claim.objects.filter(pk=c1.pk).update(created_at=c1.paid_at - timedelta(days=10))
    r3 = redeem(v2, e2, inst_zj, 16_000, "rnd-contract")
    r4 = redeem(v2, e2, lab_sh, 4_000)
    Voucher.objects.filter(pk=v1.pk).update(valid_until=now - timedelta(minutes=1))
    services.expire_vouchers()
    return VoucherWorld(prog, admin, [v1, v2], [r1, r2, r3, r4], [c1, c2])
