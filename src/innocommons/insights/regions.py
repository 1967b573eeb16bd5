"""The region tree as the statistics group it: the four regions vs the rest of the country
vs abroad (bloc), province-level regions, and cities.

Regions are reference data (GB/T 2260 and ISO 3166 codes) that change with a data
migration, so one in-memory copy per process serves every request for a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy

from innocommons.core.models import Region

CHINA = "CN"
REST = "rest"  # pseudo-region: China outside the community
ABROAD = "abroad"  # pseudo-region: every foreign country

LEVELS = ("bloc", "province", "city")
_TTL = 60.0


@dataclass(frozen=True)
class Info:
    code: str
    name_zh: str
    name_en: str
    level: str
    parent: str | None
    province: str
    in_community: bool
    sort: int


PSEUDO_NAMES = {REST: gettext_lazy("Rest of China"), ABROAD: gettext_lazy("Abroad")}


def _both(code: str) -> tuple[str, str]:
    with translation.override("zh-hans"):
        zh = str(PSEUDO_NAMES[code])
    with translation.override("en"):
        en = str(PSEUDO_NAMES[code])
    return zh, en


class RegionIndex:
    """Lookups over all regions, without further queries."""

    def __init__(self, rows: list[Info]):
        self.by_code = {r.code: r for r in rows}
        self._children: dict[str, list[str]] = {}
        for r in rows:
            if r.parent:
                self._children.setdefault(r.parent, []).append(r.code)

    # --- names ------------------------------------------------------------------------
    def names(self, code: str) -> tuple[str, str]:
        """(Chinese, English) name of a region or pseudo-region."""
        if code in PSEUDO_NAMES:
            return _both(code)
        info = self.by_code.get(code)
        if info is None:
            return code, code
        return info.name_zh, info.name_en or info.name_zh

    def name(self, code: str) -> str:
        zh, en = self.names(code)
        return en if (translation.get_language() or "").startswith("en") else zh

    def sort_key(self, code: str) -> tuple[int, int, str]:
        if code == REST:
            return (1, 0, code)
        if code == ABROAD:
            return (2, 0, code)
        info = self.by_code.get(code)
        return (0, info.sort if info else 10**6, code)

    # --- tree -------------------------------------------------------------------------
    def province(self, code: str) -> str:
        info = self.by_code.get(code)
        return info.province if info else code

    def in_community(self, code: str) -> bool:
        info = self.by_code.get(self.province(code))
        return bool(info and info.in_community)

    def is_domestic(self, code: str) -> bool:
        prov = self.by_code.get(self.province(code))
        return prov is not None and (prov.code == CHINA or prov.parent == CHINA)

    def community_provinces(self) -> list[str]:
        return sorted(
            (r.code for r in self.by_code.values() if r.level == "province" and r.in_community),
            key=lambda c: self.by_code[c].sort,
        )

    def city(self, code: str) -> str:
        """The city-level node: a city, a district directly under a province-level region
        (Shanghai's districts), or the region itself when it is a province or a country."""
        info = self.by_code.get(code)
        while info is not None and info.level == "district" and info.parent:
            parent = self.by_code.get(info.parent)
            if parent is None or parent.level in ("province", "country"):
                break
            info = parent
        return info.code if info else code

    def bloc(self, code: str) -> str:
        if self.in_community(code):
            return self.province(code)
        return REST if self.is_domestic(code) else ABROAD

    def within(self, code: str, ancestor: str) -> bool:
        info = self.by_code.get(code)
        while info is not None:
            if info.code == ancestor:
                return True
            info = self.by_code.get(info.parent) if info.parent else None
        return False

    def descendants(self, code: str) -> list[str]:
        """The region and every region below it."""
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(self._children.get(c, []))
        return out

    def node(self, code: str, level: str, focus: str | None = None) -> str:
        """The node a region counts under at `level`. With a `focus` province at city
        level, regions outside it stay at province level."""
        if level == "bloc":
            return self.bloc(code)
        if level == "province":
            return self.province(code)
        if focus and self.province(code) != focus:
            return self.province(code)
        return self.city(code)

    def as_dict(self, code: str) -> dict[str, Any]:
        zh, en = self.names(code)
        return {"code": code, "name_zh": zh, "name_en": en, "name": self.name(code)}


_cache: tuple[float, RegionIndex] | None = None


def index() -> RegionIndex:
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > _TTL:
        rows = [
            Info(
                code=r.code,
                name_zh=r.name_zh,
                name_en=r.name_en,
                level=r.level,
                parent=r.parent_id,
                province=r.province_id or r.code,
                in_community=r.in_community,
                sort=r.sort,
            )
            for r in Region.objects.all().only(
                "code", "name_zh", "name_en", "level", "parent", "province", "in_community", "sort"
            )
        ]
        _cache = (now, RegionIndex(rows))
    return _cache[1]


def forget() -> None:
    """Drop the cached copy (tests that add regions)."""
    global _cache
    _cache = None
