"""Demo technology demands: fourteen demands of the demo enterprises in every state —
published (some with providers' interest threads and replies), drafts, and closed as
solved, withdrawn and expired — replayed through the services at the dates they would have
happened (`vouchers.demo.at`), so alerts, audit entries and notifications are real.

Idempotent: each demand has a `ref`; existing ones are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from innocommons.accounts.models import Membership, Organisation, User
from innocommons.catalog.models import Resource
from innocommons.market.models import Demand
from innocommons.market.services import demands as services
from innocommons.vouchers.demo import at

SHANGHAI = ZoneInfo("Asia/Shanghai")
WAN = 10_000 * 100  # 万元 in fen


@dataclass(frozen=True)
class Reply:
    provider: str  # demo.json key of the organisation expressing interest
    message: str
    answer: str = ""  # the enterprise's reply, if any
    listing: str = ""  # the ref of the listing offered


@dataclass(frozen=True)
class DemoDemand:
    ref: str
    org: str
    title_zh: str
    title_en: str
    summary_zh: str
    field: str
    budget_wan: tuple[int | None, int | None]
    deadline_days: int  # from the day it was posted
    state: str  # draft | published | solved | withdrawn | expired
    posted_days_ago: int = 10
    keywords: str = ""
    details_zh: str = ""
    min_trl: int | None = None
    replies: tuple[Reply, ...] = ()


DEMANDS = (
    DemoDemand(
        "demo-dem-01",
        "lichi",
        "储能集装箱电芯温差大，寻求液冷热管理方案",
        "Liquid-cooled thermal management for storage containers",
        "我司储能集装箱夏季运行时电芯温差超过8 ℃，循环寿命衰减明显。寻求液冷板设计与温控策略，"
        "或可直接导入的成熟热管理系统，要求电芯温差控制在3 ℃左右。",
        "0603",
        (100, 300),
        60,
        "published",
        keywords="储能；液冷；热管理",
        details_zh=(
            "集装箱规格20尺，单箱3.44 MWh，现用风冷；需兼容现有BMS通信协议，年底前完成样机。"
        ),
        replies=(
            Reply(
                "qineng",
                "我们的储能电站液冷热管理系统已在多个电站应用，电芯温差可控制在3 ℃以内，"
                "可安排技术交流并提供现场数据。",
                "感谢！请提供一份20尺集装箱的初步方案和报价，我们下周安排视频会议。",
                "demo-ach-031",
            ),
        ),
    ),
    DemoDemand(
        "demo-dem-02",
        "weigan",
        "MEMS气体传感芯片工艺开发与小批量流片",
        "Process development and small-batch runs for a MEMS gas sensor",
        "公司自主设计了新一代MEMS气体传感芯片，需要依托8英寸MEMS中试线进行工艺开发、"
        "多项目晶圆和小批量流片，并希望有经验的工艺整合专家提供指导。",
        "0102",
        (30, 80),
        90,
        "published",
        keywords="MEMS；流片；工艺整合",
        replies=(
            Reply(
                "sitri",
                "我院8英寸MEMS中试线可承接工艺开发和MPW流片，工艺整合团队有多款气体和压力传感器量产经验。",
                listing="demo-svc-029",
            ),
        ),
    ),
    DemoDemand(
        "demo-dem-03",
        "lvyuan",
        "化工园区尾水提标改造深度处理",
        "Advanced treatment to upgrade a chemical park's effluent",
        "承接某化工园区污水厂尾水提标改造，COD需从80 mg/L降至40 mg/L以下。寻求臭氧催化氧化等"
        "高级氧化深度处理技术及工艺包，要求有工程案例。",
        "0701",
        (200, 500),
        75,
        "published",
        keywords="废水深度处理；提标改造；臭氧催化氧化",
        min_trl=7,
        replies=(
            Reply(
                "nju",
                "我校臭氧催化氧化深度处理技术已在多个化工园区尾水提标工程中应用，可先做小试验证。",
                "请安排取样小试，我们提供近三个月的进水水质数据。",
                "demo-ach-034",
            ),
        ),
    ),
    DemoDemand(
        "demo-dem-04",
        "chengshi",
        "手性医药中间体不对称氢化工艺",
        "Asymmetric hydrogenation route for a chiral intermediate",
        "某手性醇类医药中间体目前采用拆分工艺，收率低、三废多。需要高转化数的不对称氢化催化剂"
        "及百克级到公斤级工艺开发。",
        "0203",
        (100, 600),
        45,
        "published",
        keywords="不对称氢化；手性中间体",
        min_trl=6,
        details_zh="目标ee值≥99%，催化剂用量≤0.01 mol%，需提供工艺包和杂质研究资料。",
    ),
    DemoDemand(
        "demo-dem-05",
        "yihang",
        "无人机城市环境厘米级定位",
        "Centimetre-level positioning for drones in cities",
        "工业级无人机在城市楼宇间作业时卫星信号遮挡严重，定位漂移大。需要北斗RTK与惯导紧耦合的"
        "厘米级高精度定位方案或模组。",
        "0302",
        (50, 200),
        60,
        "published",
        keywords="高精度定位；组合导航；北斗",
    ),
    DemoDemand(
        "demo-dem-06",
        "xiwang",
        "可降解餐具耐热增韧改性配方",
        "Heat-resistant, tougher biodegradable tableware",
        "客户使用的PLA/PBAT可降解餐具耐热性不足，60 ℃以上即变形，需要提高耐热性和韧性的改性配方"
        "及工艺，并配套热性能测试。",
        "0403",
        (50, 200),
        50,
        "published",
        keywords="可降解；PLA；改性",
    ),
    DemoDemand(
        "demo-dem-07",
        "hongyi",
        "加工中心主轴热变形导致尺寸超差",
        "Spindle thermal growth makes parts out of tolerance",
        "公司数控加工中心连续加工数小时后主轴热伸长，零件尺寸超差。需要机床热误差建模与实时补偿"
        "技术，最好能接入现有数控系统。",
        "0804",
        (30, 100),
        40,
        "published",
        keywords="热误差补偿；数控机床",
    ),
    DemoDemand(
        "demo-dem-08",
        "yunxiu",
        "协作机器人关节用精密减速器国产替代",
        "Precision reducers for collaborative-robot joints",
        "协作机器人关节需要高精度、低回差、长寿命的精密减速器，希望与减速器研发团队联合开发，"
        "要求回差小于1弧分。",
        "0805",
        (200, 500),
        80,
        "published",
        keywords="减速器；精密传动",
        min_trl=6,
        replies=(
            Reply(
                "hongyi",
                "我们的高精度RV减速器回差小于1弧分，可针对协作机器人关节做小型化定制。",
                "请寄两台样品做寿命测试，我们承担测试费用。",
                "demo-ach-038",
            ),
        ),
    ),
    DemoDemand(
        "demo-dem-09",
        "yunxiu",
        "汽车零部件装配线数字孪生仿真",
        "Digital-twin simulation of an assembly line",
        "新建汽车零部件装配线调试周期长，需要基于工艺数据的产线数字孪生建模和节拍、物流仿真优化服务。",
        "0804",
        (30, 100),
        60,
        "draft",
        keywords="数字孪生；产线仿真",
    ),
    DemoDemand(
        "demo-dem-10",
        "nayan",
        "KrF光刻胶成膜树脂合成技术",
        "Film-forming resin for KrF photoresist",
        "公司计划开发KrF光刻胶，需要低金属离子含量的成膜树脂合成技术。",
        "0405",
        (500, 1000),
        120,
        "draft",
        keywords="光刻胶；树脂",
        min_trl=6,
    ),
    DemoDemand(
        "demo-dem-11",
        "chengxin",
        "视觉大模型训练需要租用智能算力",
        "GPU time to train a vision foundation model",
        "工业质检视觉大模型迭代需要大规模训练与微调算力，寻求按卡时计费的算力资源，支持多机并行训练。",
        "0103",
        (10, 50),
        30,
        "solved",
        posted_days_ago=50,
        keywords="算力；大模型训练",
        replies=(
            Reply(
                "zhejianglab",
                "之江实验室智能算力平台可按卡时提供昇腾算力并支持多机并行训练。",
                "已签订算力服务合同，谢谢！",
                "demo-svc-024",
            ),
        ),
    ),
    DemoDemand(
        "demo-dem-12",
        "qinghe",
        "盐碱地特色作物品种与栽培技术",
        "Salt-tolerant crop varieties and cultivation",
        "公司在西北盐碱地开展特色作物种植，需要耐盐碱、耐旱的高产作物新品种及配套栽培技术。",
        "0207",
        (50, 200),
        60,
        "withdrawn",
        posted_days_ago=40,
        keywords="耐盐碱；作物育种",
    ),
    DemoDemand(
        "demo-dem-13",
        "ruixi",
        "候选抗体与抗原复合物结构解析",
        "Structure of an antibody–antigen complex",
        "候选治疗性抗体需要解析其与抗原复合物的高分辨三维结构，明确结合表位。",
        "0201",
        (50, 150),
        20,
        "expired",
        posted_days_ago=45,
        keywords="结构解析；冷冻电镜",
    ),
    DemoDemand(
        "demo-dem-14",
        "chengshi",
        "疾病标志物蛋白质组学发现",
        "Proteomics to find disease biomarkers",
        "公司开发肿瘤早筛试剂，需要对患者血清样本开展定量蛋白质组学分析，发现并验证候选生物标志物。",
        "0201",
        (20, 60),
        50,
        "published",
        keywords="蛋白质组学；生物标志物",
        replies=(
            Reply(
                "fudan",
                "我们的蛋白质组学平台可提供DIA定量分析和标志物验证，可先做20例样本的预实验。",
                listing="demo-svc-006",
            ),
        ),
    ),
)


def _actor(org: Organisation) -> User:
    """Someone acting for the organisation: its first member, or a demo stand-in."""
    user = User.objects.filter(memberships__organisation=org).order_by("pk").first()
    if user is None:
        user, _ = User.objects.get_or_create(
            username=f"demo-{org.pk}", defaults={"display_name": f"{org.name_zh} 经办人"}
        )
        Membership.objects.get_or_create(user=user, organisation=org)
    return user


def _moment(days_ago: int, hour: int = 10) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def _listing_id(ref: str) -> int | None:
    return Resource.objects.filter(ref=ref, status="published").values_list("pk", flat=True).first()


def _load_one(spec: DemoDemand, orgs: dict[str, Organisation]) -> None:
    org = orgs[spec.org]
    actor = _actor(org)
    posted = spec.posted_days_ago
    low, high = spec.budget_wan
    with at(_moment(posted)):
        demand = services.create_demand(
            actor=actor,
            data=services.DemandInput(
                organisation_id=org.pk,
                title_zh=spec.title_zh,
                title_en=spec.title_en,
                summary_zh=spec.summary_zh,
                details_zh=spec.details_zh,
                keywords=spec.keywords,
                field=spec.field,
                deadline=timezone.localdate() + timedelta(days=spec.deadline_days),
                budget_min_fen=None if low is None else low * WAN,
                budget_max_fen=None if high is None else high * WAN,
                min_trl=spec.min_trl,
            ),
            publish=spec.state != "draft",
        )
    Demand.objects.filter(pk=demand.pk).update(ref=spec.ref)
    for n, reply in enumerate(spec.replies, start=1):
        provider = orgs[reply.provider]
        with at(_moment(posted - n, 14)):
            thread = services.express_interest(
                actor=_actor(provider),
                demand_id=demand.pk,
                organisation_id=provider.pk,
                message=reply.message,
                resource_id=_listing_id(reply.listing) if reply.listing else None,
            )
        if reply.answer:
            with at(_moment(posted - n, 17)):
                services.post_message(actor=actor, thread_id=thread.pk, body=reply.answer)
    if spec.state in ("solved", "withdrawn"):
        with at(_moment(posted - 3, 11)):
            services.close_demand(actor=actor, demand_id=demand.pk, outcome=spec.state)


def load_demand_demo(orgs: dict[str, Organisation]) -> int:
    """Create the demo demands that do not exist yet; return how many were created."""
    have = set(Demand.objects.filter(ref__startswith="demo-dem-").values_list("ref", flat=True))
    created = 0
    for spec in DEMANDS:
        if spec.ref in have or spec.org not in orgs:
            continue
        if any(r.provider not in orgs for r in spec.replies):
            continue
        _load_one(spec, orgs)
        created += 1
    if created:
        services.expire_demands()
    return created
