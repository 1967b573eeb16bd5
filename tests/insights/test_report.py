"""The annual report: sentences in both languages, the page, the self-contained file."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from innocommons.insights import report

pytestmark = pytest.mark.django_db


def test_key_sentences_in_english(contracts) -> None:
    with translation.override("en"):
        sentences = dict(report.key_figures(2025).sentences)
    assert sentences["registered"] == (
        "In 2025, 7 technology contracts were registered on the platform, with a contract "
        "amount of 3,100.00 ten thousand yuan and a technology-transaction amount of 2,700.00 "
        "ten thousand yuan."
    )
    assert sentences["between"].startswith(
        "In 2025, the four regions exported 2 technology contracts worth 1,500.00 ten "
        "thousand yuan to one another, 62.50% of their total output of 2,400.00"
    )
    assert "+500.0%" in sentences["between_change"]
    assert sentences["leaders"].startswith("Jiangsu exported the most technology")
    assert "Zhejiang absorbed the most" in sentences["leaders"]


def test_sentences_follow_the_language(contracts) -> None:
    with translation.override("zh-hans"):
        zh = dict(report.key_figures(2025).sentences)
    # Region names and units come in Chinese even before the sentences are translated.
    assert "江苏省" in zh["leaders"]


def test_a_year_without_contracts(db) -> None:
    with translation.override("en"):
        sentences = dict(report.key_figures(1999).sentences)
    assert sentences == {
        "registered": "No technology contracts were registered on the platform in 1999."
    }


def test_report_api(client, contracts) -> None:
    body = client.get("/api/v1/stats/report/2025", {"language": "en"}).json()
    assert body["sentences"][0]["key"] == "registered"
    assert body["community"]["between"]["amount_fen"] == 1500 * 1_000_000
    assert body["previous_community"]["between"]["amount_fen"] == 250 * 1_000_000


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_report_command_writes_a_self_contained_file(contracts, tmp_path, language) -> None:
    out = tmp_path / "report.html"
    stdout = StringIO()
    call_command(
        "report",
        "annual",
        "--year",
        "2025",
        "--out",
        str(out),
        "--language",
        language,
        stdout=stdout,
    )
    assert "wrote the 2025 annual report" in stdout.getvalue()
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert 'lang="en"' in html if language == "en" else 'lang="zh-CN"' in html
    assert "echarts" in html and len(html) > 1_000_000  # ECharts inlined
    assert "<script src=" not in html and "<link " not in html  # nothing fetched
    assert 'data-table="flows"' in html
    assert "/static/" not in html


def test_report_command_can_reference_echarts(contracts, tmp_path) -> None:
    out = tmp_path / "r.html"
    call_command(
        "report",
        "annual",
        "--year",
        "2025",
        "--out",
        str(out),
        "--echarts",
        "echarts.min.js",
        stdout=StringIO(),
    )
    html = out.read_text(encoding="utf-8")
    assert '<script src="echarts.min.js"></script>' in html
    assert len(html) < 300_000
