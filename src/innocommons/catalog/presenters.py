"""Plain-dict views of resources and search results, shared by the API and exports."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from innocommons.catalog.models import Resource
from innocommons.core.money import fen_to_yuan


def resource_url(resource: Resource) -> str:
    return reverse("web:resource", args=[resource.pk])


def detail_dict(resource: Resource) -> dict[str, Any]:
    detail = resource.detail
    if detail is None:
        return {}
    out: dict[str, Any] = {}
    for f in detail._meta.concrete_fields:
        if f.name == "resource":
            continue
        value = getattr(detail, f.name)
        if hasattr(value, "code"):
            value = value.code
        out[f.name] = value
    return out


def resource_dict(resource: Resource, *, with_detail: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": resource.pk,
        "kind": resource.kind,
        "title": resource.title,
        "title_zh": resource.title_zh,
        "title_en": resource.title_en,
        "summary": resource.summary,
        "summary_zh": resource.summary_zh,
        "summary_en": resource.summary_en,
        "keywords": resource.keyword_list,
        "field": resource.field.code if resource.field else None,
        "field_name": resource.field.name if resource.field else None,
        "region": resource.region_id,
        "region_name": resource.region.name,
        "owner": resource.owner_id,
        "owner_name": resource.owner.name,
        "price_fen": resource.price_fen,
        "price_yuan": str(fen_to_yuan(resource.price_fen))
        if resource.price_fen is not None
        else None,
        "status": resource.status,
        "url": resource_url(resource),
        "published_at": resource.published_at,
        "updated_at": resource.updated_at,
    }
    if with_detail:
        data["detail"] = detail_dict(resource)
    return data
