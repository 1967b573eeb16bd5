"""Key terms of a text: what a demand is about, as search-index tokens with weights.

The text is segmented exactly as the search index segments a listing (`segment_for_index`:
jieba's search mode, which also emits the shorter words inside long ones, then Tantivy's
"zh_en" analyzer: lower case, English stems), so a key term is a token the index can look
up. Stop words — the words every demand uses ("寻求", "技术", "solution") — and lone
characters are dropped. The rest are weighted by TF-IDF: the term's frequency in the text
(a word in the title or keywords counts three times) times its inverse document frequency
in the live catalog index, so "钠离子" outweighs "电池", which outweighs "材料". Terms no
listing contains are dropped (they cannot match anything) unless the index is empty.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import tantivy

from innocommons.catalog.search.segment import ANALYZER, segment_for_index

MAX_TERMS = 12
MIN_DIGITS = 5  # numbers shorter than this ("2020", "600") say little; standards ("38031") do

# Words of the genre (what every demand or listing says), not of the subject. Compared after
# analysis, so English entries match their stems ("solutions" → "solut").
STOP_WORDS_ZH = """
我们 我司 本公司 公司 企业 单位 团队 本单位 需求 需要 寻求 寻找 希望 期望 要求 问题 解决 解决方案
方案 提供 合作 合作方 意向 技术 相关 目前 现有 现在 进行 实现 能够 可以 以及 用于 通过 项目 产品
研发 开发 研制 应用 一种 具有 采用 基于 主要 领域 方面 提高 提升 降低 成本 效率 国内 国外 进口
依赖 具备 支持 服务 预算 万元 左右 以上 以下 期间 欢迎 联系 能力 一个 一些 这个 这些 那些 其中
同时 并且 而且 或者 以及 包括 例如 比如 如何 怎样 可能 已经 正在 尚未 没有 不能 无法 较高 较大
较低 较好 很多 大量 更加 进一步 其他 其它 我国 全国 方式 情况 条件 工作 使用 生产 过程 标准
水平 实际 最终 有效 有关 方法 信息 难题 瓶颈 痛点 急需 亟需 迫切 专业 领先 先进 成熟 优化 改进
改善 升级 达到 满足 超过 不少 不少于 导入 直接 策略 替代 国产 国产化 联合 联合开发 合作开发 许可
转让 授权 第三方 资质 长期 稳定 配套 计划 布局 拓展 业务 客户 承接 开展 有经验 案例 工程案例
不含 含有 包含 不需 无需 需
"""
STOP_WORDS_EN = """
we our us company enterprise firm need needs needed require requirement requirements looking
seek seeking want wish solution solutions problem problems technology technologies technical
partner partners project projects product products develop development provide support able
the a an and or for with to of in on by at from as is are be been being this that these those
it its which who what how can could should would will may might must not no also such than
then there their they them into onto over under about via per use used using based new high
low better improve improved reduce cost costs efficiency current currently existing
"""


def _analysed(words: str) -> frozenset[str]:
    return frozenset(t for w in words.split() for t in ANALYZER.analyze(w))


STOP_WORDS = _analysed(STOP_WORDS_ZH) | _analysed(STOP_WORDS_EN)


@dataclass(frozen=True)
class KeyTerm:
    """An index token, the word it came from (for people), and its TF-IDF weight."""

    token: str
    label: str
    weight: float


def is_content(token: str) -> bool:
    """Whether a token can say what a text is about."""
    if len(token) < 2 or token in STOP_WORDS:
        return False
    return not (token.isdigit() and len(token) < MIN_DIGITS)


def labelled_tokens(text: str) -> list[tuple[str, str]]:
    """(index token, the word it came from) for every content token of `text`, in order."""
    out: list[tuple[str, str]] = []
    for word in segment_for_index(text).split():
        tokens = list(ANALYZER.analyze(word))
        for token in tokens:
            if is_content(token):
                out.append((token, word if len(tokens) == 1 else token))
    return out


def tokens_of(text: str) -> set[str]:
    """The content tokens of `text` (no labels: the cheap path for many listings)."""
    if not text:
        return set()
    return {t for t in ANALYZER.analyze(segment_for_index(text)) if is_content(t)}


def idf(doc_freq: int, num_docs: int) -> float:
    """BM25's inverse document frequency (always positive)."""
    return math.log(1 + (num_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def extract(
    parts: Iterable[tuple[str, float]],
    searcher: tantivy.Searcher | None = None,
    *,
    limit: int = MAX_TERMS,
) -> list[KeyTerm]:
    """The `limit` heaviest key terms of the weighted text `parts` ((text, weight) pairs:
    a title counts more than a summary), heaviest first."""
    tf: dict[str, float] = {}
    labels: dict[str, str] = {}
    for text, weight in parts:
        if not text:
            continue
        for token, label in labelled_tokens(text):
            tf[token] = tf.get(token, 0.0) + weight
            labels.setdefault(token, label)
    if not tf:
        return []
    num_docs = searcher.num_docs if searcher is not None else 0
    terms = []
    for token, freq in tf.items():
        if num_docs:
            df = searcher.doc_freq("all", token) if searcher is not None else 0
            if df == 0:
                continue  # no listing has it: it can neither match nor discriminate
            weight = math.log1p(freq) * idf(df, num_docs)
        else:
            weight = math.log1p(freq)
        terms.append(KeyTerm(token=token, label=labels[token][:60], weight=round(weight, 4)))
    terms.sort(key=lambda t: (-t.weight, -len(t.token), t.token))
    kept: list[KeyTerm] = []
    for term in terms:
        if not _overlaps(term.token, kept):
            kept.append(term)
            if len(kept) == limit:
                break
    return kept


def _overlaps(token: str, kept: list[KeyTerm]) -> bool:
    """Whether a Chinese token is part of a heavier key term or contains one: jieba's search
    mode emits "集装箱" with "集装" and "装箱", which would count one idea three times."""
    if token.isascii():
        return False
    return any(not k.token.isascii() and (token in k.token or k.token in token) for k in kept)
