"""Builders shared by the demand and matching tests (no tests here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from innocommons.accounts.models import Organisation
from innocommons.catalog.models import Resource
from innocommons.catalog.search import indexer
from innocommons.market.models import Demand
from innocommons.market.services import demands as services
from tests import factories

WAN = 10_000 * 100  # 万元 in fen


def demand_input(org: Organisation, **kw: Any) -> services.DemandInput:
    values: dict[str, Any] = {
        "organisation_id": org.pk,
        "title_zh": "钠离子电池正极材料技术许可",
        "summary_zh": "计划建设钠离子电池产线，需要不含镍钴、成本低的层状氧化物正极材料制备技术。",
        "details_zh": "年产能规划两万吨，需提供工艺包与吨级中试数据。",
        "keywords": "钠离子电池；正极材料",
        "field": "0603",
        "deadline": timezone.localdate() + timedelta(days=30),
        "budget_min_fen": 500 * WAN,
        "budget_max_fen": 1000 * WAN,
    }
    values.update(kw)
    return services.DemandInput(**values)


def make_demand(
    world: Any, *, publish: bool = True, org: Organisation | None = None, **kw: Any
) -> Demand:
    org = org or world.enterprise
    actor = world.enterprise_member if org == world.enterprise else member_of(org)
    return services.create_demand(actor=actor, data=demand_input(org, **kw), publish=publish)


def member_of(org: Organisation) -> Any:
    user = org.memberships.order_by("pk").first()
    if user is not None:
        return user.user
    u = factories.user()
    factories.member(u, org)
    return u


def listing(org: Organisation, *, kind: str = "achievement", **data: Any) -> Resource:
    """A published listing of `org` (indexed by `index()`)."""
    return factories.resource(org, actor=member_of(org), kind=kind, **data)


def index() -> None:
    indexer.apply_outbox()


def sodium_catalog(world: Any) -> dict[str, Resource]:
    """Listings around a sodium-ion cathode demand of the Shanghai enterprise.

    strong: the Jiangsu provider's sodium-ion cathode achievement (the answer);
    local_weak: a Shanghai institute's lithium recycling achievement (shares little);
    unrelated: a Zhejiang firm's NMR instrument."""
    local = factories.org(name="上海本地研究所", type="institute", region="310104")
    far = factories.org(name="浙江仪器公司", type="service_provider", region="330100")
    items = {
        "strong": listing(
            world.provider,
            title_zh="钠离子电池层状氧化物正极材料",
            title_en="Layered-oxide cathodes for sodium-ion batteries",
            summary_zh="铜铁锰基层状氧化物正极，不含镍钴，比容量超过130 mAh/g，已完成吨级中试。",
            keywords="钠离子电池;正极材料;层状氧化物",
            field="0603",
            trl=7,
            price_yuan="8000000",
        ),
        "local_weak": listing(
            local,
            title_zh="废旧锂电池回收再生技术",
            summary_zh="湿法浸出回收锂、钴、镍，再生材料用于电池制造。",
            keywords="电池回收;湿法冶金",
            field="0703",
            trl=7,
            price_yuan="6000000",
        ),
        "unrelated": listing(
            far,
            kind="instrument",
            title_zh="600兆核磁共振波谱仪",
            summary_zh="用于有机小分子结构鉴定。",
            keywords="核磁共振;NMR",
            field="0405",
        ),
    }
    index()
    return items
