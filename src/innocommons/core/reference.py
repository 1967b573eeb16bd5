"""Load the region tree and region groups from core/data/regions.json (used by migrations).

Idempotent: rows are upserted by code, so a later migration can load an amended file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "regions.json"


def read() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def load_regions(apps: Any, schema_editor: Any = None) -> None:
    Region = apps.get_model("core", "Region")
    RegionGroup = apps.get_model("core", "RegionGroup")
    data = read()
    provinces: dict[str, str] = {}
    for sort, row in enumerate(data["regions"]):
        code, parent = row["code"], row.get("parent")
        level = row["level"]
        if level in ("province", "country"):
            province = code
        else:
            province = provinces[parent]
        provinces[code] = province
        Region.objects.update_or_create(
            code=code,
            defaults={
                "name_zh": row["name_zh"],
                "name_en": row.get("name_en", ""),
                "level": level,
                "parent_id": parent,
                "province_id": province,
                "in_community": bool(row.get("in_community")),
                "sort": sort,
            },
        )
    for group in data.get("groups", []):
        obj, _ = RegionGroup.objects.update_or_create(
            code=group["code"],
            defaults={
                "name_zh": group["name_zh"],
                "name_en": group.get("name_en", ""),
                "description": group.get("description", ""),
            },
        )
        obj.regions.set(group["regions"])
