"""Load the taxonomies (technology fields, instrument and service categories, maturity
stages) from catalog/data/taxonomy.json (used by migrations). Idempotent upserts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "taxonomy.json"


def load_taxonomy(apps: Any, schema_editor: Any = None) -> None:
    Term = apps.get_model("catalog", "Term")
    data = json.loads(DATA.read_text(encoding="utf-8"))
    counter = 0

    def walk(scheme: str, nodes: list[dict[str, Any]], parent: Any) -> None:
        nonlocal counter
        for node in nodes:
            counter += 1
            term, _ = Term.objects.update_or_create(
                scheme=scheme,
                code=node["code"],
                defaults={
                    "name_zh": node["name_zh"],
                    "name_en": node.get("name_en", ""),
                    "parent": parent,
                    "sort": counter,
                },
            )
            walk(scheme, node.get("children", []), term)

    for scheme, nodes in data.items():
        walk(scheme, nodes, None)
