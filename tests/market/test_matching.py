"""Matching: key terms, each factor's value and reason, the ranking across regions, the
providers' view, and demands for a listing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from innocommons.market.matching import keyterms, matcher, scoring
from innocommons.market.matching.keyterms import KeyTerm
from innocommons.market.matching.scoring import DemandProfile, Listing
from innocommons.market.models import Demand
from innocommons.market.services import demands as services
from tests import factories
from tests.market.test_demands_support import WAN, index, listing, make_demand, sodium_catalog

# --- pure scoring (no database) ----------------------------------------------------------


def profile(**kw) -> DemandProfile:
    values = {
        "terms": (
            KeyTerm("钠离子", "钠离子", 3.0),
            KeyTerm("正极", "正极", 2.0),
            KeyTerm("电池", "电池", 1.0),
        ),
        "field_code": "0603",
        "field_name": "储能",
        "province": "310000",
        "province_name": "上海市",
    }
    values.update(kw)
    return DemandProfile(**values)


def item(**kw) -> Listing:
    values = {
        "id": 1,
        "kind": "achievement",
        "title": "钠离子电池正极",
        "owner_id": 9,
        "owner_name": "某大学",
        "strong_text": "钠离子电池",
        "body_text": "层状氧化物正极",
        "field_code": "0603",
        "province": "320000",
        "province_name": "江苏省",
    }
    values.update(kw)
    return Listing(**values)


def reason(scored, factor: str):
    return next(r for r in scored.reasons if r.factor == factor)


def test_text_reason_lists_matched_terms_and_weighs_titles_above_descriptions() -> None:
    s = scoring.score(profile(), item())
    text = reason(s, "text")
    assert text.terms == ["钠离子", "正极", "电池"] == s.matched_terms
    # 正极 is only in the description: it counts 70%.
    assert s.coverage == pytest.approx((3 + 2 * 0.7 + 1) / 6)
    assert text.value == 1.0  # above TEXT_FULL of the weight
    partial = scoring.score(profile(), item(strong_text="锂电池", body_text=""))
    assert reason(partial, "text").terms == ["电池"] and partial.coverage == pytest.approx(1 / 6)
    assert partial.score < s.score
    none = scoring.score(profile(), item(strong_text="核磁共振", body_text="波谱仪"))
    assert none.matched_terms == [] and reason(none, "text").value == 0


@pytest.mark.parametrize(
    ("demand_field", "listing_field", "value"),
    [
        ("0603", "0603", 1.0),
        ("06", "0603", 0.8),
        ("0603", "0601", 0.6),
        ("0603", "0101", 0.0),
        ("0603", "", 0.5),
    ],
)
def test_field_agreement(demand_field, listing_field, value) -> None:
    r = reason(
        scoring.score(profile(field_code=demand_field), item(field_code=listing_field)), "field"
    )
    assert r.value == value and r.points == pytest.approx(value * scoring.WEIGHTS["field"])


@pytest.mark.parametrize(
    ("budget", "price", "value", "words"),
    [
        ((None, None), 100, 0.5, "No budget"),
        ((0, 1000_00), None, 0.5, "on request"),
        ((0, 1000_00), 800_00, 1.0, "within"),
        ((None, 1000_00), 1200_00, 0.6, "quarter above"),
        ((0, 1000_00), 1800_00, 0.25, "above the budget"),
        ((0, 1000_00), 5000_00, 0.0, "far above"),
        ((500_00, None), 5000_00, 1.0, "within"),
    ],
)
def test_price_fit(budget, price, value, words) -> None:
    p = profile(budget_min_fen=budget[0], budget_max_fen=budget[1])
    r = reason(scoring.score(p, item(price_fen=price)), "price")
    assert r.value == value and words in r.label


def test_maturity_fit_stated_inferred_from_the_budget_or_not_needed() -> None:
    stated = profile(min_trl=6)
    assert reason(scoring.score(stated, item(trl=7)), "maturity").value == 1.0
    low = reason(scoring.score(stated, item(trl=4)), "maturity")
    assert low.value == 0.5 and "below" in low.label
    # The stage stands in for a missing TRL (通过中试 = TRL 6).
    assert reason(scoring.score(stated, item(stage="pilot")), "maturity").value == 1.0
    assert reason(scoring.score(stated, item()), "maturity").value == 0.25  # not stated
    # A budget of a million yuan or more expects technology near production.
    rich = profile(budget_max_fen=100 * WAN)
    assert rich.wanted_trl() == (6, "budget")
    r = reason(scoring.score(rich, item(trl=3)), "maturity")
    assert r.value == 0.25 and "million" in r.label
    assert profile(budget_max_fen=50 * WAN).wanted_trl() == (None, "")
    assert reason(scoring.score(rich, item(kind="service")), "maturity").value == 0.5


def test_latin_terms_match_at_a_word_start_chinese_anywhere() -> None:
    terms = (
        KeyTerm("microscop", "microscopes", 1.0),
        KeyTerm("mems", "MEMS", 1.0),
        KeyTerm("电镜", "电镜", 1.0),
    )
    hit = scoring.score(
        profile(terms=terms),
        item(strong_text="场发射扫描电镜 SEM", body_text="Electron Microscopes; 8英寸MEMS工艺"),
    )
    assert hit.matched_terms == ["microscopes", "MEMS", "电镜"]
    assert reason(hit, "text").value == 1.0
    miss = scoring.score(
        profile(terms=terms), item(strong_text="nanomicroscopy", body_text="systems")
    )
    assert miss.matched_terms == []


def test_reasons_are_written_in_the_active_language_when_read() -> None:
    from django.utils import translation

    s = scoring.score(profile(), item())
    with translation.override("en"):
        assert reason(s, "field").label == "Same field: 储能"


def test_region_is_a_small_bonus() -> None:
    same = scoring.score(profile(), item(province="310000", province_name="上海市"))
    other = scoring.score(profile(), item())
    assert reason(same, "region").value == 1.0 and "上海市" in reason(same, "region").label
    assert reason(other, "region").value == 0.0 and "江苏省" in reason(other, "region").label
    assert same.score - other.score == pytest.approx(scoring.WEIGHTS["region"]) == 0.05
    # Less than the difference one key term makes.
    fewer = scoring.score(profile(), item(province="310000", strong_text="电池", body_text=""))
    assert fewer.score < other.score


# --- key terms ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_key_terms_drop_stop_words_and_duplicated_sub_words(world) -> None:
    listing(world.provider, title_zh="储能集装箱液冷系统", summary_zh="集装箱式储能液冷。")
    listing(world.provider, title_zh="电池检测服务", summary_zh="电池安全检测。")
    index()
    d = Demand(
        organisation=world.enterprise,
        region=world.enterprise.region,
        title_zh="寻求储能集装箱液冷技术",
        summary_zh="我公司希望寻求成熟的技术解决方案，需要电池液冷。",
        details_zh="保密参数：热失控阈值",
    )
    labels = [t.label for t in matcher.key_terms(d)]
    assert "液冷" in labels and "集装箱" in labels
    assert not {"我公司", "希望", "寻求", "技术", "解决方案", "需要", "成熟"} & set(labels)
    assert "集装" not in labels and "装箱" not in labels  # parts of 集装箱
    assert "失控" not in labels  # confidential details never take part
    assert all(len(t) > 1 for t in labels)


@pytest.mark.django_db
def test_rare_terms_outweigh_common_ones(world) -> None:
    for i in range(6):
        listing(world.provider, title_zh=f"电池测试{i}", summary_zh="电池。")
    listing(world.provider, title_zh="钠离子电池", summary_zh="钠离子。")
    index()
    terms = {
        t.token: t.weight
        for t in keyterms.extract([("钠离子电池", 1.0)], matcher.engine.reader.searcher())
    }
    assert terms["钠离子"] > terms["电池"]


# --- ranking with reasons ------------------------------------------------------------------


@pytest.mark.django_db
def test_matches_carry_correct_reasons_and_cross_region_can_outrank_local(world) -> None:
    items = sodium_catalog(world)
    d = make_demand(world)  # Shanghai enterprise, field 0603, budget 500–1000 万
    matches = matcher.match_listings(matcher.profile_for(d))
    by_id = {m.listing.id: m for m in matches}
    strong, weak = by_id[items["strong"].pk], by_id[items["local_weak"].pk]
    assert items["unrelated"].pk not in by_id  # nothing in common: not a match
    # The Jiangsu answer outranks the Shanghai near-miss: region never filters.
    assert matches[0] is strong and strong.score > weak.score
    text = reason(strong.scored, "text")
    assert {"钠离子", "正极"} <= set(text.terms) and "钠离子" in text.label
    assert reason(strong.scored, "field").value == 1.0
    assert "Asking ¥8,000,000: within" in reason(strong.scored, "price").label
    assert reason(strong.scored, "maturity").value == 1.0  # TRL 7 ≥ 6 for a 10 M budget
    assert reason(strong.scored, "region").value == 0.0
    assert reason(weak.scored, "region").value == 1.0
    assert reason(weak.scored, "region").points == pytest.approx(0.05)
    assert reason(weak.scored, "field").value == 0.0


@pytest.mark.django_db
def test_own_listings_and_hidden_owners_are_left_out(world) -> None:
    items = sodium_catalog(world)
    own = listing(world.enterprise, title_zh="钠离子电池正极材料（自研）", field="0603")
    index()
    d = make_demand(world)
    ids = [m.listing.id for m in matcher.match_listings(matcher.profile_for(d))]
    assert own.pk not in ids and items["strong"].pk in ids
    world.provider.status = "suspended"
    world.provider.save()
    ids = [m.listing.id for m in matcher.match_listings(matcher.profile_for(d))]
    assert items["strong"].pk not in ids


@pytest.mark.django_db
def test_providers_rank_by_their_best_listing_plus_breadth(world) -> None:
    items = sodium_catalog(world)
    second = listing(
        world.provider,
        kind="expert",
        title_zh="符晓岚",
        summary_zh="从事钠离子电池正极材料研究。",
        keywords="钠离子电池;正极材料",
        field="0603",
    )
    index()
    d = make_demand(world)
    matches = matcher.match_listings(matcher.profile_for(d))
    providers = matcher.providers(matches)
    top = providers[0]
    assert top.organisation_id == world.provider.pk
    assert {m.listing.id for m in top.matches} == {items["strong"].pk, second.pk}
    assert top.score == pytest.approx(min(1.0, top.best.score + matcher.PROVIDER_BREADTH_BONUS))


@pytest.mark.django_db
def test_kinds_filter_the_candidates(world) -> None:
    sodium_catalog(world)
    listing(
        world.provider, kind="expert", title_zh="钠离子专家", keywords="钠离子电池", field="0603"
    )
    index()
    d = make_demand(world)
    kinds = {
        m.listing.kind for m in matcher.match_listings(matcher.profile_for(d), kinds=("expert",))
    }
    assert kinds == {"expert"}


# --- demands for a listing ---------------------------------------------------------------


@pytest.mark.django_db
def test_open_demands_for_an_achievement(world) -> None:
    items = sodium_catalog(world)
    other = factories.org(name="杭州储能公司", region="330100")
    factories.member(factories.user(), other)
    wanted = make_demand(world)
    elsewhere = make_demand(
        world, org=other, title_zh="钠离子储能电池正极", budget_max_fen=None, budget_min_fen=None
    )
    draft = make_demand(world, publish=False)
    closed = make_demand(world)
    services.close_demand(actor=world.enterprise_member, demand_id=closed.pk, outcome="withdrawn")
    late = make_demand(world)
    Demand.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    unrelated = make_demand(
        world,
        title_zh="核磁共振测试需求",
        summary_zh="需要核磁共振测试机时。",
        keywords="核磁共振",
        field="0405",
    )

    found = matcher.match_demands(items["strong"].pk)
    ids = [m.demand.pk for m in found]
    assert set(ids) == {wanted.pk, elsewhere.pk}
    assert (
        draft.pk not in ids
        and closed.pk not in ids
        and late.pk not in ids
        and unrelated.pk not in ids
    )
    first = found[ids.index(wanted.pk)]
    assert "钠离子" in first.scored.matched_terms
    assert {r.factor for r in first.scored.reasons} == {
        "text",
        "field",
        "maturity",
        "price",
        "region",
    }
    # The same pair scores the same from either side.
    forward = {m.listing.id: m.score for m in matcher.match_listings(matcher.profile_for(wanted))}
    assert forward[items["strong"].pk] == pytest.approx(first.score, abs=0.02)
    # A poster's own listing is not offered its own demands.
    mine = listing(world.enterprise, title_zh="钠离子电池正极材料", field="0603")
    assert wanted.pk not in [m.demand.pk for m in matcher.match_demands(mine.pk)]


@pytest.fixture(autouse=True)
def _messages_in_english(english: None) -> None:
    """These tests assert the English wording of messages."""
