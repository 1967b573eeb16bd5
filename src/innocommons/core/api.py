"""API: regions, region groups and taxonomies (public reference data)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from innocommons.catalog.models import Term
from innocommons.core.errors import DomainError, NotFound
from innocommons.core.models import Region, RegionGroup

router = Router(tags=["reference data"])


class RegionOut(Schema):
    code: str
    name: str
    name_zh: str
    name_en: str
    level: str
    parent: str | None
    province: str | None
    in_community: bool


def region_out(r: Region) -> RegionOut:
    return RegionOut(
        code=r.code,
        name=r.name,
        name_zh=r.name_zh,
        name_en=r.name_en,
        level=r.level,
        parent=r.parent_id,
        province=r.province_id,
        in_community=r.in_community,
    )


class GroupOut(Schema):
    code: str
    name: str
    regions: list[str]


class TermOut(Schema):
    code: str
    name: str
    name_zh: str
    name_en: str
    parent: str | None


@router.get("/regions", response=list[RegionOut], summary="List regions")
def list_regions(
    request: HttpRequest, level: str | None = None, parent: str | None = None
) -> list[RegionOut]:
    qs = Region.objects.all()
    if level:
        qs = qs.filter(level=level[:20])
    if parent:
        qs = qs.filter(parent_id=parent[:12])
    return [region_out(r) for r in qs]


@router.get("/regions/{code}", response=RegionOut, summary="One region")
def get_region(request: HttpRequest, code: str) -> RegionOut:
    region = Region.objects.filter(code=code[:12]).first()
    if region is None:
        raise NotFound(_("Region not found."))
    return region_out(region)


@router.get("/region-groups", response=list[GroupOut], summary="Named groups of regions")
def list_groups(request: HttpRequest) -> list[GroupOut]:
    return [
        GroupOut(code=g.code, name=g.name, regions=[r.code for r in g.regions.all()])
        for g in RegionGroup.objects.prefetch_related("regions")
    ]


@router.get("/taxonomies/{scheme}", response=list[TermOut], summary="Entries of a taxonomy")
def list_terms(request: HttpRequest, scheme: str) -> list[TermOut]:
    if scheme not in Term.Scheme.values:
        raise DomainError(
            _("Unknown taxonomy; choose from: ") + ", ".join(Term.Scheme.values),
            field="scheme",
            status=404,
        )
    terms = Term.objects.filter(scheme=scheme).select_related("parent")
    return [
        TermOut(
            code=t.code,
            name=t.name,
            name_zh=t.name_zh,
            name_en=t.name_en,
            parent=t.parent.code if t.parent else None,
        )
        for t in terms
    ]
