"""Demo technology contracts and challenges.

Contracts: three years of registered contracts across the four regions (generated
deterministically from a fixed seed), sold by the demo organisations to each other, to
unnamed firms in cities of the community and elsewhere in China, and abroad — so the flow
statistics have intra-province, cross-province and foreign absorption to show. A handful go
through the real services at past moments (`vouchers.demo.at`): some wait for the
registrar (two of them overdue) and some were refused.

Challenges: one per phase — open (an enterprise's and a region's), under evaluation, in
public notice, awarded with a milestone accepted, and completed — replayed through the
services at the dates they would have happened.

Both loaders are idempotent: they do nothing when their demo rows exist.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from innocommons.accounts.models import Membership, Organisation, User
from innocommons.catalog.demo import DEMO_PASSWORD, demo_credit_code
from innocommons.market.models import (
    SUBTYPES,
    Challenge,
    ContractField,
    ContractType,
    PaymentMethod,
    TechContract,
)
from innocommons.market.services import challenges as challenge_services
from innocommons.market.services import contracts as contract_services
from innocommons.market.services.challenges import ChallengeInput, CriterionInput, MilestoneInput
from innocommons.vouchers.demo import at

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 2026
REGISTERED = 300
DEMO_REF = "DEMO-"
PDF = b"%PDF-1.4\n% InnoCommons demo contract\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

TOPICS: dict[str, list[str]] = {
    ContractField.ELECTRONICS: [
        "毫米波雷达芯片",
        "工业视觉检测软件",
        "MEMS气体传感器",
        "边缘计算网关",
    ],
    ContractField.AEROSPACE: ["无人机飞控系统", "复合材料机翼结构"],
    ContractField.MANUFACTURING: ["精密减速器", "协作机器人柔性产线", "激光焊接工艺"],
    ContractField.BIOMEDICINE: ["抗体药物筛选平台", "体外诊断试剂", "医用可降解支架"],
    ContractField.MATERIALS: ["石墨烯导热膜", "生物基可降解薄膜", "高性能碳纤维"],
    ContractField.ENERGY: ["半固态锂电池", "储能液冷热管理", "钙钛矿光伏组件"],
    ContractField.ENVIRONMENT: ["污泥资源化", "土壤修复药剂", "VOCs治理"],
    ContractField.AGRICULTURE: ["设施农业物联网", "水稻新品种选育"],
    ContractField.TRANSPORT: ["车路协同V2X", "智能公交调度"],
    ContractField.URBAN: ["城市数字孪生", "建筑结构健康监测"],
}
TYPE_WORDS = {
    ContractType.DEVELOPMENT: "技术开发",
    ContractType.TRANSFER: "技术转让",
    ContractType.LICENCE: "技术许可",
    ContractType.CONSULTING: "技术咨询",
    ContractType.SERVICE: "技术服务",
}
# Type mix of registered contracts (services and development dominate, as in the statistics).
TYPE_WEIGHTS = [
    (ContractType.SERVICE, 40),
    (ContractType.DEVELOPMENT, 30),
    (ContractType.TRANSFER, 12),
    (ContractType.LICENCE, 8),
    (ContractType.CONSULTING, 10),
]
# Buyers without a profile on the platform: (name, region).
COMMUNITY_FIRMS = [
    ("宁波甬江智能装备有限公司", "330200"),
    ("温州瓯越电气有限公司", "330300"),
    ("绍兴越芯微电子有限公司", "330600"),
    ("无锡锡山新材料有限公司", "320200"),
    ("南通江海生物科技有限公司", "320600"),
    ("徐州淮海工程机械有限公司", "320300"),
    ("芜湖长江汽车零部件有限公司", "340200"),
    ("马鞍山钢城新材料有限公司", "340500"),
    ("安庆石化技术服务有限公司", "340800"),
    ("上海浦东智造科技有限公司", "310115"),
    ("上海嘉定汽车电子有限公司", "310114"),
    ("常州武进绿色能源有限公司", "320412"),
]
CHINA_FIRMS = [
    ("北京中关村智联科技有限公司", "110000"),
    ("深圳南山光电有限公司", "440000"),
    ("成都天府软件有限公司", "510000"),
    ("武汉光谷激光有限公司", "420000"),
]
FOREIGN_FIRMS = [
    ("Fraunhofer-Institut für Produktionstechnik", "DE"),
    ("Acme Robotics Inc.", "US"),
    ("Nippon Precision Co., Ltd.", "JP"),
    ("Singapore MedTech Pte. Ltd.", "SG"),
    ("Nordic Battery Oy", "FI"),
    ("Haifa Water Technologies Ltd.", "IL"),
]
# Government organisations that issue the regions' challenges (and buy their awards).
AGENCIES = [
    ("sh-stcsm", "上海市科学技术委员会（演示）", "Shanghai S&T Commission (demo)", "310000"),
    ("js-kjt", "江苏省科学技术厅（演示）", "Jiangsu S&T Department (demo)", "320000"),
    ("zj-kjt", "浙江省科学技术厅（演示）", "Zhejiang S&T Department (demo)", "330000"),
    ("ah-kjt", "安徽省科学技术厅（演示）", "Anhui S&T Department (demo)", "340000"),
]


def _quiet_mail() -> override_settings:
    """The replayed history notifies registrars and teams in their in-app inboxes only."""
    return override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")


def _moment(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def _member(org: Organisation) -> User:
    """Someone acting for the organisation: its first member, or a demo stand-in."""
    user = User.objects.filter(memberships__organisation=org).order_by("pk").first()
    if user is None:
        user, _created = User.objects.get_or_create(
            username=f"demo-{org.pk}", defaults={"display_name": f"{org.name_zh} 经办人"}
        )
        Membership.objects.get_or_create(user=user, organisation=org)
    return user


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]


def _amount(rng: random.Random) -> int:
    """A contract amount in fen: mostly 0.1–2 million yuan, a long tail to 30 million."""
    yuan = int(rng.lognormvariate(13.0, 1.1)) // 1000 * 1000
    return max(20_000, min(yuan, 30_000_000)) * 100


def _buyer(
    rng: random.Random, seller: Organisation, orgs: list[Organisation]
) -> tuple[Organisation | None, str, str]:
    roll = rng.random()
    if roll < 0.55:
        buyer = rng.choice([o for o in orgs if o.pk != seller.pk])
        return buyer, buyer.name_zh, buyer.region_id
    if roll < 0.82:
        name, region = rng.choice(COMMUNITY_FIRMS)
    elif roll < 0.92:
        name, region = rng.choice(CHINA_FIRMS)
    else:
        name, region = rng.choice(FOREIGN_FIRMS)
    return None, name, region


def _rows(orgs: dict[str, Organisation], today: date) -> Iterator[dict[str, Any]]:
    rng = random.Random(SEED)
    everyone = sorted(orgs.values(), key=lambda o: o.pk)
    # Universities and institutes sell most technology; enterprises some.
    sellers = [(o, 3 if o.type in ("university", "institute") else 1) for o in everyone]
    start = date(today.year - 2, 1, 1)
    span = (today - start).days
    for n in range(REGISTERED):
        seller = _pick(rng, sellers)
        buyer, buyer_name, buyer_region = _buyer(rng, seller, everyone)
        contract_type = _pick(rng, TYPE_WEIGHTS)
        subtype = rng.choice(SUBTYPES[contract_type])[0]
        field_code = rng.choice(list(TOPICS))
        amount = _amount(rng)
        tech = amount * rng.choice([60, 75, 85, 90, 100, 100]) // 100
        signed = start + timedelta(days=rng.randrange(max(span - 20, 1)))
        registered = min(signed + timedelta(days=rng.randrange(3, 28)), today)
        yield {
            "ref": f"{DEMO_REF}{registered.year}-{n + 1:04d}",
            "title": f"{rng.choice(TOPICS[field_code])}{TYPE_WORDS[contract_type]}合同",
            "type": contract_type,
            "subtype": subtype,
            "seller": seller,
            "seller_name": seller.name_zh,
            "seller_region_id": seller.region_id,
            "buyer": buyer,
            "buyer_name": buyer_name,
            "buyer_region_id": buyer_region,
            "amount_fen": amount,
            "tech_amount_fen": tech,
            "registered_tech_amount_fen": tech,
            "payment_method": rng.choice(PaymentMethod.values),
            "field": field_code,
            "signed_on": signed,
            "registered_on": registered,
        }


def _registrar(region_code: str) -> User | None:
    return (
        User.objects.filter(
            staff_roles__role="regional_admin", staff_roles__region_id=region_code[:2] + "0000"
        )
        .order_by("pk")
        .first()
    )


def _submit_pending(orgs: dict[str, Organisation], today: date) -> int:
    """Contracts through the real services: waiting (two overdue), refused, one appealed."""
    cases = [
        # seller, buyer key or (name, region), days ago, fate
        ("nju", "ruixi", 5, "pending"),
        ("zju", ("Fraunhofer-Institut für Produktionstechnik", "DE"), 12, "pending"),
        ("ustc", "weigan", 20, "pending"),
        ("sjtu", ("宁波甬江智能装备有限公司", "330200"), 36, "pending"),  # overdue
        ("seu", "hongyi", 41, "pending"),  # overdue
        ("hfut", "lichi", 25, "refused"),
        ("tongji", ("上海浦东智造科技有限公司", "310115"), 18, "refused"),
        ("suda", "chengshi", 50, "appealed"),
    ]
    made = 0
    for n, (seller_key, buyer, days_ago, fate) in enumerate(cases, start=1):
        seller = orgs.get(seller_key)
        if seller is None:
            continue
        buyer_org = orgs.get(buyer) if isinstance(buyer, str) else None
        if isinstance(buyer, str) and buyer_org is None:
            continue
        name, region = ("", "") if buyer_org else buyer  # type: ignore[misc]
        when = _moment(today - timedelta(days=days_ago))
        actor = _member(seller)
        with at(when):
            contract = contract_services.create_contract(
                actor=actor,
                data=contract_services.ContractInput(
                    seller_id=seller.pk,
                    title=f"{list(TOPICS.values())[n % len(TOPICS)][0]}技术开发合同",
                    type=ContractType.DEVELOPMENT,
                    subtype="commissioned",
                    buyer_id=buyer_org.pk if buyer_org else None,
                    buyer_name=name,
                    buyer_region=region,
                    amount_fen=(n * 150_000 + 200_000) * 100,
                    tech_amount_fen=(n * 150_000 + 150_000) * 100,
                    field=list(TOPICS)[n % len(TOPICS)],
                    signed_on=(when - timedelta(days=7)).date(),
                ),
                file=ContentFile(PDF, name="contract.pdf"),
                submit=True,
            )
        TechContract.objects.filter(pk=contract.pk).update(ref=f"{DEMO_REF}P{n:03d}")
        made += 1
        registrar = _registrar(seller.region_id)
        if fate in ("refused", "appealed") and registrar is not None:
            with at(when + timedelta(days=6)):
                contract_services.refuse_contract(
                    actor=registrar,
                    contract_id=contract.pk,
                    reason="合同未约定技术成果的归属，且技术交易额缺少依据，请补充技术内容说明。",
                )
        if fate == "appealed" and registrar is not None:
            with at(when + timedelta(days=10)):
                contract_services.appeal_contract(
                    actor=actor,
                    contract_id=contract.pk,
                    statement="已补充技术成果归属条款（见第七条）及技术交易额测算说明。",
                )
    return made


def load_contract_demo(orgs: dict[str, Organisation]) -> int:
    """Registered contracts over three years plus a few in review; returns rows created."""
    if not orgs or TechContract.objects.filter(ref__startswith=DEMO_REF).exists():
        return 0
    today = timezone.localdate()
    rows = list(_rows(orgs, today))
    with transaction.atomic():
        by_group: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: (r["registered_on"], r["ref"])):
            province = row["seller_region_id"][:2] + "0000"
            by_group[(province, row["registered_on"].year)].append(row)
        for (province, year), group in sorted(by_group.items()):
            numbers = contract_services.reserve_registration_numbers(province, year, len(group))
            for row, number in zip(group, numbers, strict=True):
                row["registration_no"] = number
        TechContract.objects.bulk_create(
            [
                TechContract(
                    **row,
                    status=TechContract.Status.REGISTERED,
                    source=TechContract.Source.IMPORT,
                    decided_at=_moment(row["registered_on"], 16),
                )
                for row in rows
            ],
            batch_size=500,
        )
    with _quiet_mail():
        return len(rows) + _submit_pending(orgs, today)


# --- challenges -------------------------------------------------------------------------------


def _agencies() -> dict[str, Organisation]:
    out = {}
    for key, name_zh, name_en, region in AGENCIES:
        org, _created = Organisation.objects.get_or_create(
            credit_code=demo_credit_code(key, "government", region),
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "type": Organisation.Type.GOVERNMENT,
                "region_id": region,
                "status": Organisation.Status.VERIFIED,
                "verified_at": timezone.now(),
            },
        )
        out[region] = org
    return out


def _expert(username: str, display: str) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display, "email": f"{username}@demo.local"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


CHALLENGES: list[dict[str, Any]] = [
    {
        "title": "车规级77GHz毫米波雷达芯片国产化攻关",
        "issuer": "yunxiu",
        "field": ContractField.ELECTRONICS,
        "reward": 3_000_000,
        "milestones": [
            ("方案设计与仿真评审", 900_000),
            ("工程样片流片", 1_200_000),
            ("车规认证通过", 900_000),
        ],
        "fate": "open",
        "teams": [("seu", ["weigan"]), ("sitri", [])],
    },
    {
        "title": "湖州太湖流域污泥低碳资源化成套技术",
        "region": "330000",
        "field": ContractField.ENVIRONMENT,
        "reward": 8_000_000,
        "milestones": [("中试装置建成", 3_000_000), ("连续运行6个月达标", 5_000_000)],
        "fate": "open",
        "teams": [],
    },
    {
        "title": "半固态锂电池热失控预警算法",
        "issuer": "lichi",
        "field": ContractField.ENERGY,
        "reward": 1_200_000,
        "milestones": [("预警模型验证", 500_000), ("整包实车验证", 700_000)],
        "fate": "evaluation",
        "teams": [("ustc", ["qineng"]), ("zju", []), ("sjtu", ["xiwang"])],
    },
    {
        "title": "面板缺陷检测漏检率降低到0.1%以下",
        "issuer": "chengxin",
        "field": ContractField.ELECTRONICS,
        "reward": 2_000_000,
        "milestones": [("算法离线验证", 800_000), ("产线部署验收", 1_200_000)],
        "fate": "notice",
        "teams": [("zhejianglab", ["liangheng"]), ("nju", [])],
    },
    {
        "title": "工业机器人RV减速器寿命提升",
        "issuer": "hongyi",
        "field": ContractField.MANUFACTURING,
        "reward": 1_500_000,
        "milestones": [("材料与热处理方案", 600_000), ("寿命试验达标", 900_000)],
        "fate": "awarded",
        "teams": [("hfut", ["yunxiu"]), ("tongji", [])],
    },
    {
        "title": "长三角G60科创走廊生物医药中试平台共享机制研究",
        "region": "310000",
        "field": ContractField.BIOMEDICINE,
        "reward": 600_000,
        "milestones": [("调研报告", 300_000), ("机制方案通过评审", 300_000)],
        "fate": "completed",
        "teams": [("fudan", ["ruixi", "chengshi"]), ("ecust", [])],
    },
]
CRITERIA = [
    ("技术方案先进性与可行性", 40),
    ("团队能力与前期基础", 30),
    ("进度与经费安排", 20),
    ("成果转化前景", 10),
]


def _replay_challenge(
    spec: dict[str, Any],
    orgs: dict[str, Organisation],
    agencies: dict[str, Organisation],
    experts: list[User],
    today: date,
) -> bool:
    fate = spec["fate"]
    created = {
        "open": 10,
        "evaluation": 40,
        "notice": 50,
        "awarded": 150,
        "completed": 400,
    }[fate]
    start = _moment(today - timedelta(days=created), 9)
    deadline = start + timedelta(days=30 if fate != "open" else 45)
    if "region" in spec:
        actor = _registrar(spec["region"])
        if actor is None:
            return False
        issuer_org, region = agencies[spec["region"]].pk, spec["region"]
    else:
        issuer = orgs.get(spec["issuer"])
        if issuer is None:
            return False
        actor, issuer_org, region = _member(issuer), issuer.pk, ""
    with at(start):
        challenge = challenge_services.create_challenge(
            actor=actor,
            data=ChallengeInput(
                title=spec["title"],
                problem=f"{spec['title']}：现有方案在性能、成本或可靠性上无法满足产业化要求，需要外部团队联合攻关。",
                expected_results="可验证的样机或系统、测试报告，以及可在本地产业化的技术方案。",
                eligibility="面向全球征集，不设年龄、职称、注册年限门槛；鼓励跨区域联合体揭榜。",
                field=spec["field"],
                reward_fen=spec["reward"] * 100,
                deadline=deadline,
                milestones=[MilestoneInput(t, a * 100) for t, a in spec["milestones"]],
                criteria=[CriterionInput(n, w) for n, w in CRITERIA],
                issuer_org_id=issuer_org if not region else None,
                region=region,
            ),
        )
        for expert in experts:
            challenge_services.invite_panelist(
                actor=actor, challenge_id=challenge.pk, username=expert.username
            )
    proposals = []
    for i, (lead_key, partner_keys) in enumerate(spec["teams"]):
        lead = orgs.get(lead_key)
        if lead is None:
            continue
        with at(start + timedelta(days=5 + i * 3)):
            proposals.append(
                challenge_services.submit_proposal(
                    actor=_member(lead),
                    challenge_id=challenge.pk,
                    lead_org_id=lead.pk,
                    title=f"{lead.name_zh}揭榜方案",
                    summary="技术路线、关键指标、进度安排与经费使用计划（演示）。",
                    team="项目负责人及核心成员8人，含跨区域合作单位骨干。",
                    partner_ids=[orgs[k].pk for k in partner_keys if k in orgs],
                )
            )
    if fate == "open" or not proposals:
        return True
    criteria = list(challenge.criteria.all())
    rng = random.Random(f"{SEED}-{challenge.title}")
    with at(deadline + timedelta(days=3)):
        for expert in experts:
            for proposal in proposals:
                if challenge_services.is_conflicted(expert, proposal):
                    continue
                challenge_services.score_proposal(
                    actor=expert,
                    proposal_id=proposal.pk,
                    points={k.pk: rng.randrange(60, 96) for k in criteria},
                    comment="方案完整，指标可验证。",
                )
    if fate == "evaluation":
        return True
    best = challenge_services.rank_proposals(challenge)[0].proposal
    selected_at = (
        deadline + timedelta(days=10) if fate != "notice" else _moment(today - timedelta(days=2))
    )
    with at(selected_at):
        challenge_services.select_winner(
            actor=actor, challenge_id=challenge.pk, proposal_id=best.pk
        )
    if fate == "notice":
        with at(selected_at + timedelta(days=1)):
            challenge_services.object_to_selection(
                actor=experts[-1] if len(experts) > 2 else actor,
                challenge_id=challenge.pk,
                text="建议核实揭榜团队在同类产线的落地案例。",
            )
        return True
    awarded = selected_at + timedelta(days=challenge.notice_days + 1)
    with at(awarded):
        challenge_services.award_challenge(actor=actor, challenge_id=challenge.pk)
    milestones = list(challenge.milestones.order_by("seq"))
    accept = 1 if fate == "awarded" else len(milestones)
    for i, milestone in enumerate(milestones[:accept], start=1):
        with at(awarded + timedelta(days=40 * i)):
            challenge_services.accept_milestone(
                actor=actor, milestone_id=milestone.pk, note="阶段成果经专家验收通过。"
            )
    return True


def load_challenge_demo(orgs: dict[str, Organisation]) -> int:
    """Challenges in every phase, replayed through the services; returns challenges made."""
    titles = [spec["title"] for spec in CHALLENGES]
    if not orgs or Challenge.objects.filter(title__in=titles).exists():
        return 0
    today = timezone.localdate()
    agencies = _agencies()
    experts = [
        _expert("expert-li", "李教授（评审专家）"),
        _expert("expert-wang", "王研究员（评审专家）"),
        _expert("expert-chen", "陈总工（评审专家）"),
    ]
    with _quiet_mail():
        return sum(_replay_challenge(spec, orgs, agencies, experts, today) for spec in CHALLENGES)
