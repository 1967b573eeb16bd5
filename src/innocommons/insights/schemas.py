"""Input and output schemas of the open-data API (`/api/v1/stats/…`).

Amounts are integer fen. Names come in Chinese and English, so a response is the same
whatever the caller's language and shared caches can keep it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from ninja import Field, Schema

PERIOD_HELP = (
    "2025 (a year), 2025-Q2 (a quarter), 2025-03 (a month) or 2025-01-01..2025-06-30 "
    "(days, both included, Beijing time); empty: this year"
)


class StatsParams(Schema):
    period: str = Field("", max_length=60, description=PERIOD_HELP)
    level: Literal["bloc", "province", "city"] = Field(
        "bloc",
        description="bloc: the four regions, the rest of China, abroad; province: every "
        "province-level region and country; city: cities (with `focus`, of one province)",
    )
    focus: str = Field("", max_length=12, description="province-level code to drill into")
    region: str = Field(
        "", max_length=12, description="restrict to a region and the regions below it"
    )
    type: str = Field("", max_length=12, description="contract type code")
    field: str = Field("", max_length=16, description="contract statistics field code")
    side: Literal["output", "absorption"] = Field(
        "output", description="output: by seller's region; absorption: by buyer's region"
    )


class Named(Schema):
    code: str
    name_zh: str
    name_en: str


class PeriodOut(Schema):
    code: str
    kind: str
    start: date
    end: date


class MeasureOut(Schema):
    contracts: int
    amount_fen: int = Field(description="contract amount (合同成交额), fen")
    tech_amount_fen: int = Field(description="technology-transaction amount (技术交易额), fen")


class LinkOut(MeasureOut):
    seller: str = Field(description="node code of the output (seller's) side")
    buyer: str = Field(description="node code of the absorbing (buyer's) side")


class FlowsOut(Schema):
    period: PeriodOut
    level: str
    focus: str
    nodes: list[Named]
    links: list[LinkOut]
    total: MeasureOut


class RegionOut(Schema):
    region: Named
    output: MeasureOut
    absorption: MeasureOut
    net: MeasureOut = Field(description="output minus absorption")
    internal: MeasureOut = Field(description="seller and buyer both in this node")
    to_community: MeasureOut = Field(description="sold to another province of the community")
    community_share_pct: float | None = Field(
        description="to_community amount / output amount × 100 (community regions only)"
    )


class CommunityOut(Schema):
    output: MeasureOut
    between: MeasureOut = Field(description="between the four regions, across their borders")
    within_province: MeasureOut
    to_rest: MeasureOut
    abroad: MeasureOut
    from_rest: MeasureOut
    from_abroad: MeasureOut
    total: MeasureOut = Field(description="every registered contract of the period")
    between_share_pct: float | None


class RegionsOut(Schema):
    period: PeriodOut
    level: str
    focus: str
    regions: list[RegionOut]
    community: CommunityOut


class BreakdownRow(MeasureOut):
    code: str
    name_zh: str
    name_en: str


class BreakdownOut(Schema):
    period: PeriodOut
    by: str
    side: str
    region: str
    rows: list[BreakdownRow]


class TrendPointOut(Schema):
    month: str
    current: MeasureOut
    previous: MeasureOut = Field(description="the same month a year earlier")


class TrendOut(Schema):
    period: PeriodOut
    side: str
    region: str
    months: list[TrendPointOut]


class YearOut(MeasureOut):
    year: int


class YearsOut(Schema):
    side: str
    region: str
    years: list[YearOut]


class SellerOut(MeasureOut):
    seller: str
    region: Named


class SellersOut(Schema):
    period: PeriodOut
    region: str
    rows: list[SellerOut]


class ProgrammeOut(Schema):
    id: int
    name_zh: str
    name_en: str
    region: Named
    budget_fen: int = Field(description="appropriated up to the end of the period")
    committed_fen: int = Field(description="face value of vouchers issued in the period")
    vouchers: int
    redeemed_fen: int
    redemptions: int
    claimed_fen: int = Field(description="claims lodged in the period, unless rejected")
    settled_fen: int = Field(description="claims paid in the period")
    expired_fen: int = Field(description="unspent balances returned on expiry")
    revoked_fen: int


class ProgrammesOut(Schema):
    period: PeriodOut
    region: str
    rows: list[ProgrammeOut]


class RedemptionFlowOut(Schema):
    provider: str = Field(description="node code of the providers' region")
    client: str = Field(description="node code of the firms' region")
    redemptions: int
    amount_fen: int


class CrossRegionOut(Schema):
    period: PeriodOut
    level: str
    region: str
    nodes: list[Named]
    flows: list[RedemptionFlowOut]
    total_fen: int
    total_redemptions: int
    cross_fen: int = Field(description="provider and firm in different province-level regions")
    cross_redemptions: int
    cross_share_pct: float | None


class CategoryOut(Schema):
    code: str
    name_zh: str
    name_en: str
    redemptions: int
    amount_fen: int


class CategoriesOut(Schema):
    period: PeriodOut
    region: str
    rows: list[CategoryOut]


class TimingOut(Schema):
    cases: int
    median_days: float | None
    mean_days: float | None
    p90_days: float | None


class RegionTimingOut(Schema):
    region: Named | None = Field(description="issuing province-level region; null: all")
    approval: TimingOut = Field(description="application to approval")
    payment: TimingOut = Field(description="claim to payment")


class TimingsOut(Schema):
    period: PeriodOut
    region: str
    rows: list[RegionTimingOut]


class CountStatus(Schema):
    count: int
    amount_fen: int


class BooksProgrammeOut(Schema):
    id: int
    name_zh: str
    region: Named
    applications: dict[str, CountStatus]
    approved_fen: int
    waiting: int
    oldest_waiting_days: float | None
    claims: dict[str, CountStatus]


class ProviderClaimsOut(Schema):
    programme_id: int
    provider: str
    region: Named
    claims: int
    claimed_fen: int
    paid_fen: int
    waiting_fen: int


class BooksOut(Schema):
    period: PeriodOut
    region: str
    programmes: list[BooksProgrammeOut]
    providers: list[ProviderClaimsOut]


class MonthKinds(Schema):
    month: str
    kinds: dict[str, int]


class FieldCount(Schema):
    code: str
    name_zh: str
    name_en: str
    listings: int


class RegionKinds(Schema):
    region: Named
    kinds: dict[str, int]


class ListingsOut(Schema):
    period: PeriodOut
    region: str
    total: int
    by_kind: dict[str, int]
    months: list[MonthKinds]
    by_field: list[FieldCount]
    by_region: list[RegionKinds]


class InstrumentOut(Schema):
    id: int
    title_zh: str
    title_en: str
    provider: str
    region: Named
    bookings: int
    hours: float
    open_hours: float
    utilisation_pct: float | None
    rating: float | None
    ratings: int


class InstrumentsOut(Schema):
    period: PeriodOut
    region: str
    rows: list[InstrumentOut]


class ProviderOut(Schema):
    id: int
    name_zh: str
    name_en: str
    region: Named
    orders: int
    service_hours: float
    booked_hours: float
    rating: float | None
    ratings: int


class ProvidersOut(Schema):
    period: PeriodOut
    region: str
    rows: list[ProviderOut]


class ColumnOut(Schema):
    key: str
    header: str
    kind: str = Field(description="text, int, amount (fen), percent, decimal or days")
    unit: str = Field(description="for amounts: the unit the page shows (wan or yi)")


class TableOut(Schema):
    key: str
    title: str
    period: PeriodOut
    columns: list[ColumnOut]
    rows: list[list[Any]]
    total: list[Any] | None
    note: str


class SentenceOut(Schema):
    key: str
    text: str


class ReportOut(Schema):
    year: int
    language: str
    sentences: list[SentenceOut]
    community: CommunityOut
    previous_community: CommunityOut


class DemandRowOut(Schema):
    region: Named
    posted: int
    matched: int = Field(description="providers were alerted to it (the platform found matches)")
    answered: int = Field(description="at least one provider opened a conversation")
    solved: int
    open: int
    expired: int
    withdrawn: int


class DemandsOut(Schema):
    period: PeriodOut
    region: str
    rows: list[DemandRowOut]


class ChallengeRowOut(Schema):
    status: str
    challenges: int
    reward_fen: int
    proposals: int


class ChallengesOut(Schema):
    period: PeriodOut
    region: str
    rows: list[ChallengeRowOut]


class AuctionsOut(Schema):
    period: PeriodOut
    region: str
    closed: int
    sold: int
    unsold: int
    defaulted: int
    sold_rate_pct: float | None
    hammer_fen: int = Field(description="total of the hammer prices of the lots sold")
    start_fen: int = Field(description="the starting prices of the lots sold")
    premium_pct: float | None = Field(description="total hammer over total starting price")
    mean_premium_pct: float | None = Field(description="the average of each lot's premium")
