"""Search: Chinese and English queries, ranking, facets, hostile input, the outbox and
reindex while serving."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from innocommons.catalog import services
from innocommons.catalog.models import SearchOutbox
from innocommons.catalog.search import engine, indexer
from innocommons.catalog.search.query import SearchParams, search
from innocommons.catalog.search.segment import index_tokens, query_tokens
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(world):
    u = world.provider_member
    p = world.provider
    zj = factories.org(name="浙江测试研究院", type="institute", region="330100")
    zj_user = factories.user()
    factories.member(zj_user, zj)
    items = {
        "nmr": factories.resource(
            p,
            actor=u,
            kind="instrument",
            title_zh="600兆核磁共振波谱仪",
            title_en="600 MHz NMR spectrometer",
            keywords="核磁;NMR",
            field="02",
            manufacturer="Bruker",
            summary_zh="用于有机化合物结构鉴定。",
        ),
        "nmr_mention": factories.resource(
            p,
            actor=u,
            kind="service",
            title_zh="有机化合物结构鉴定服务",
            summary_zh="可结合核磁共振与质谱进行结构解析。",
            field="02",
        ),
        "sem": factories.resource(
            zj,
            actor=zj_user,
            kind="instrument",
            title_zh="场发射扫描电子显微镜",
            title_en="Field-emission scanning electron microscope",
            keywords="扫描电镜;SEM",
            field="04",
        ),
        "battery": factories.resource(
            zj,
            actor=zj_user,
            kind="achievement",
            title_zh="高安全固态锂电池电解质",
            title_en="High-safety solid-state lithium battery electrolyte",
            keywords="锂电池;固态电解质",
            field="06",
        ),
        "draft": factories.resource(
            p, actor=u, kind="achievement", title_zh="锂电池回收草稿", publish=False
        ),
    }
    indexer.apply_outbox()
    return items


def ids(result):
    return [h.resource.pk for h in result.hits]


def test_segmentation_is_consistent_between_index_and_query() -> None:
    assert "核磁共振" in index_tokens("600兆核磁共振波谱仪") or "核磁" in index_tokens(
        "600兆核磁共振波谱仪"
    )
    for token in query_tokens("核磁共振"):
        assert token in index_tokens("600兆核磁共振波谱仪")
    assert query_tokens("Electron Microscopes") == ["electron", "microscop"]


def test_chinese_query_finds_and_ranks_title_above_summary(catalog) -> None:
    result = search(SearchParams(q="核磁共振"))
    assert ids(result)[:2] == [catalog["nmr"].pk, catalog["nmr_mention"].pk]
    assert result.total == 2


def test_english_query_finds_bilingual_listing(catalog) -> None:
    assert ids(search(SearchParams(q="electron microscopes"))) == [catalog["sem"].pk]
    assert ids(search(SearchParams(q="Bruker")))[0] == catalog["nmr"].pk


def test_snippet_highlights_matches_and_escapes_html(catalog) -> None:
    hit = search(SearchParams(q="结构鉴定")).hits[0]
    assert "<mark>" in hit.snippet


def test_drafts_are_never_found(catalog) -> None:
    assert catalog["draft"].pk not in ids(search(SearchParams(q="锂电池")))
    assert ids(search(SearchParams(q="锂电池"))) == [catalog["battery"].pk]


def test_facets_count_and_filters_apply(catalog) -> None:
    result = search(SearchParams())
    assert result.total == 4
    assert result.facets["kind"] == {"instrument": 2, "service": 1, "achievement": 1}
    assert result.facets["region"] == {"320000": 2, "330000": 2}
    assert result.facets["org_type"] == {"university": 2, "institute": 2}
    filtered = search(SearchParams(kind="instrument"))
    assert set(ids(filtered)) == {catalog["nmr"].pk, catalog["sem"].pk}
    # The kind facet stays multi-select: counted without its own filter.
    assert filtered.facets["kind"]["service"] == 1
    assert filtered.facets["region"] == {"320000": 1, "330000": 1}
    assert ids(search(SearchParams(region="330100", kind="instrument"))) == [catalog["sem"].pk]
    assert ids(search(SearchParams(field="06"))) == [catalog["battery"].pk]


def test_sort_newest_and_pagination(catalog) -> None:
    first = search(SearchParams(sort="newest", page_size=2))
    second = search(SearchParams(sort="newest", page_size=2, page=2))
    assert first.total == 4 and len(first.hits) == 2 and len(second.hits) == 2
    assert not set(ids(first)) & set(ids(second))
    assert ids(first)[0] == catalog["battery"].pk


HOSTILE = [
    '"',
    '"核磁',
    "AND",
    "OR OR",
    "title:核磁",
    "*",
    "核磁*",
    "+-!(){}[]^~:\\/",
    "🧪🔬",
    "\x00\x01\x1f",
    "a" * 10_000,
    "核" * 10_000,
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "𝕏",
    "NOT 核磁",
    "field:(a OR b)",
    "~~~",
    "%00",
    "",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_raise(catalog, q) -> None:
    result = search(SearchParams(q=q, kind="x" * 500, region="'; DROP TABLE", page=999999))
    assert result.total >= 0


def test_published_then_archived_after_outbox(world) -> None:
    r = factories.resource(
        world.provider, actor=world.provider_member, title_zh="量子点显示材料", publish=False
    )
    indexer.apply_outbox()
    assert search(SearchParams(q="量子点")).total == 0
    services.set_resource_status(actor=world.provider_member, resource_id=r.pk, status="published")
    indexer.apply_outbox()
    assert ids(search(SearchParams(q="量子点"))) == [r.pk]
    services.set_resource_status(actor=world.provider_member, resource_id=r.pk, status="archived")
    indexer.apply_outbox()
    assert search(SearchParams(q="量子点")).total == 0


def test_stale_index_hit_is_hydrated_away(world) -> None:
    r = factories.resource(world.provider, actor=world.provider_member, title_zh="过期材料")
    indexer.apply_outbox()
    # Change the row behind the indexer's back: the index still has it, the page must not.
    type(r).objects.filter(pk=r.pk).update(status="archived")
    result = search(SearchParams(q="过期材料"))
    assert result.hits == []


@pytest.mark.django_db(transaction=True)
def test_reindex_keeps_answering_while_it_rebuilds(world, monkeypatch) -> None:
    for i in range(30):
        factories.resource(world.provider, actor=world.provider_member, title_zh=f"石墨烯薄膜{i}")
    indexer.apply_outbox()
    assert search(SearchParams(q="石墨烯")).total == 30

    started, release = threading.Event(), threading.Event()
    real_build = indexer.build_document

    def slow_build(resource, lookups):
        started.set()
        release.wait(10)
        return real_build(resource, lookups)

    monkeypatch.setattr(indexer, "build_document", slow_build)
    errors: list[BaseException] = []

    def run():
        try:
            indexer.reindex(chunk_size=10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    assert started.wait(10)
    # Mid-rebuild: the live index still answers with everything.
    assert search(SearchParams(q="石墨烯")).total == 30
    release.set()
    t.join(30)
    assert not errors
    assert search(SearchParams(q="石墨烯")).total == 30


def test_every_hosts_index_sees_every_change(world, settings, tmp_path) -> None:
    """Each app host's indexer follows the shared outbox with its own cursor."""
    r = factories.resource(world.provider, actor=world.provider_member, title_zh="多主机同步测试")
    for host in ("host-a", "host-b"):
        settings.SEARCH_DIR = tmp_path / host
        engine.reader.invalidate()
        assert indexer.apply_outbox() >= 1
        assert ids(search(SearchParams(q="多主机同步"))) == [r.pk]
    services.set_resource_status(actor=world.provider_member, resource_id=r.pk, status="archived")
    for host in ("host-a", "host-b"):
        settings.SEARCH_DIR = tmp_path / host
        engine.reader.invalidate()
        indexer.apply_outbox()
        assert search(SearchParams(q="多主机同步")).total == 0


def test_cursor_moves_only_past_settled_rows_and_old_rows_are_pruned(world) -> None:
    factories.resource(world.provider, actor=world.provider_member, title_zh="旧变更")
    old = timezone.now() - timedelta(minutes=5)
    SearchOutbox.objects.update(created_at=old)
    settled_max = SearchOutbox.objects.order_by("-id").first().pk
    factories.resource(world.provider, actor=world.provider_member, title_zh="新变更")
    assert indexer.apply_outbox() == 2
    assert indexer.apply_outbox() == 0  # nothing is redone
    path = engine.current_generation()
    assert engine.read_cursor(path) == settled_max
    SearchOutbox.objects.filter(id__lte=settled_max).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    assert indexer.prune_outbox() == 1
    assert SearchOutbox.objects.count() == 1
    assert search(SearchParams(q="变更")).total == 2


def test_suspending_an_organisation_hides_its_listings(world, client) -> None:
    r = factories.resource(world.provider, actor=world.provider_member, title_zh="暂停测试仪器")
    indexer.apply_outbox()
    assert search(SearchParams(q="暂停测试")).total == 1
    from innocommons.accounts import services as account_services

    account_services.suspend_organisation(
        actor=world.admin_js, organisation_id=world.provider.pk, reason="资料造假"
    )
    indexer.apply_outbox()
    assert search(SearchParams(q="暂停测试")).total == 0
    assert client.get(f"/resources/{r.pk}/").status_code == 404
    account_services.verify_organisation(actor=world.admin_js, organisation_id=world.provider.pk)
    indexer.apply_outbox()
    assert search(SearchParams(q="暂停测试")).total == 1


def test_an_index_from_an_older_schema_is_detected(world, search_dir) -> None:
    factories.resource(world.provider, actor=world.provider_member, title_zh="模式升级")
    indexer.apply_outbox()
    live = engine.current_generation()
    (live / "schema_version").write_text("1")
    assert engine.is_stale()
    indexer.reindex()
    assert not engine.is_stale()
    assert search(SearchParams(q="模式升级")).total == 1


def test_every_word_must_match_then_most_words_when_nothing_has_all(catalog) -> None:
    assert ids(search(SearchParams(q="固态 锂电池"))) == [catalog["battery"].pk]
    # No listing has all of these words: the search relaxes to most of them.
    assert ids(search(SearchParams(q="固态 锂电池 电解质 火星")))[:1] == [catalog["battery"].pk]
    assert search(SearchParams(q="锂电池 火星")).total == 0  # two words: both required
    # Without facets (exports) the same relaxation applies.
    relaxed = search(SearchParams(q="固态 锂电池 电解质 火星"), with_facets=False)
    assert relaxed.total == 1


def test_common_words_rank_but_do_not_filter_in_a_large_catalog(catalog, monkeypatch) -> None:
    from innocommons.catalog.search import query as query_module

    # In this small catalog every word filters: no listing has both words.
    assert search(SearchParams(q="扫描电镜 结构")).total == 0
    # Pretend the catalog is large: "结构" (in 2 of 4 listings) becomes a common word that
    # only adds weight, so the distinctive "扫描电镜" decides what matches.
    monkeypatch.setattr(query_module, "COMMON_MIN_DOCS", 0)
    monkeypatch.setattr(query_module, "COMMON_SHARE", 0.3)
    assert ids(search(SearchParams(q="扫描电镜 结构"))) == [catalog["sem"].pk]


def test_api_hits_are_hydrated_too_and_follow_the_language(world, client) -> None:
    r = factories.resource(
        world.provider,
        actor=world.provider_member,
        title_zh="过期接口材料",
        title_en="Expired API material",
    )
    indexer.apply_outbox()
    body = client.get("/api/v1/search", {"q": "过期接口材料"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["items"][0]["title"] == "Expired API material"
    assert body["items"][0]["owner_name"] == world.provider.name_zh  # no English name given
    type(r).objects.filter(pk=r.pk).update(status="draft")
    body = client.get("/api/v1/search", {"q": "过期接口材料"}).json()
    assert body["items"] == []


def test_a_cursor_beyond_the_newest_row_is_clamped_after_a_restore(world) -> None:
    factories.resource(world.provider, actor=world.provider_member, title_zh="恢复前")
    indexer.apply_outbox()
    engine.write_cursor(engine.current_generation(), 10**9)  # as if the DB were restored
    r = factories.resource(world.provider, actor=world.provider_member, title_zh="恢复后新增")
    indexer.apply_outbox()
    assert ids(search(SearchParams(q="恢复后新增"))) == [r.pk]


def test_a_suspended_organisations_listings_leave_its_public_list(world, client) -> None:
    factories.resource(world.provider, actor=world.provider_member, title_zh="公开列表")
    url = f"/api/v1/organisations/{world.provider.pk}/resources"
    assert client.get(url).json()["total"] == 1
    from innocommons.accounts import services as account_services

    account_services.suspend_organisation(
        actor=world.admin_js, organisation_id=world.provider.pk, reason="核查中"
    )
    assert client.get(url).json()["total"] == 0


def test_indexer_builds_an_empty_index_from_the_database(world) -> None:
    factories.resource(world.provider, actor=world.provider_member, title_zh="新主机首次启动")
    SearchOutbox.objects.all().delete()  # as if the outbox had long been pruned
    indexer.run_forever(stop=lambda: True)
    assert search(SearchParams(q="新主机首次启动")).total == 1
