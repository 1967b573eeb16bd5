"""Test data builders. `World` is one organisation and user for every role of DESIGN §2."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from innocommons.accounts.creditcode import CHARSET, make_code
from innocommons.accounts.models import Membership, Organisation, StaffRole, User
from innocommons.catalog import services as catalog_services
from innocommons.catalog.models import Resource

_seq = itertools.count(1)


def credit_code(region: str = "310000", prefix: str = "91") -> str:
    """A valid, unique code: `n` in base 31 (four characters) and its last four digits, so
    it stays 8 characters however many builders a test run calls (31⁴ ≈ 923,000)."""
    n = next(_seq)
    body = "".join(CHARSET[(n // 31**i) % 31] for i in range(4)) + f"{n % 10000:04d}"
    return make_code(prefix, region, body)


def user(username: str | None = None, **kw: Any) -> User:
    name = username or f"user{next(_seq)}"
    u = User.objects.create_user(username=name, password="pw-" + name, **kw)
    return u


def org(
    *,
    name: str | None = None,
    type: str = "enterprise",
    region: str = "310000",
    status: str = "verified",
    **kw: Any,
) -> Organisation:
    return Organisation.objects.create(
        name_zh=name or f"测试机构{next(_seq)}",
        type=type,
        region_id=region,
        credit_code=credit_code(region),
        status=status,
        **kw,
    )


def member(u: User, o: Organisation, role: str = "member") -> Membership:
    return Membership.objects.create(user=u, organisation=o, role=role)


def staff(u: User, role: str, region: str | None = None) -> StaffRole:
    return StaffRole.objects.create(user=u, role=role, region_id=region)


def resource(
    owner: Organisation,
    *,
    actor: User | None = None,
    kind: str = "achievement",
    publish: bool = True,
    **data: Any,
) -> Resource:
    if actor is None:
        actor = user()
        member(actor, owner)
    data.setdefault("title_zh", f"测试资源{next(_seq)}")
    return catalog_services.create_resource(
        actor=actor, owner_id=owner.pk, kind=kind, data=data, publish=publish
    )


@dataclass
class World:
    enterprise: Organisation  # verified enterprise in Shanghai (Songjiang)
    provider: Organisation  # verified university in Jiangsu (Nanjing)
    pending: Organisation  # pending enterprise in Jiangsu (Suzhou)
    enterprise_member: User
    provider_member: User
    org_admin: User  # admin of the provider
    admin_js: User  # regional administrator of Jiangsu
    admin_zj: User  # regional administrator of Zhejiang
    operator: User
    auditor: User
    outsider: User  # signed in, no organisation, no role

    @classmethod
    def build(cls) -> World:
        enterprise = org(name="松江测试企业", region="310117")
        provider = org(name="南京测试大学", type="university", region="320100")
        pending = org(name="苏州待审企业", region="320500", status="pending")
        w = cls(
            enterprise=enterprise,
            provider=provider,
            pending=pending,
            enterprise_member=user("ent"),
            provider_member=user("prov"),
            org_admin=user("orgadm"),
            admin_js=user("adm_js"),
            admin_zj=user("adm_zj"),
            operator=user("op"),
            auditor=user("aud"),
            outsider=user("nobody"),
        )
        member(w.enterprise_member, enterprise)
        member(w.provider_member, provider)
        member(w.org_admin, provider, "admin")
        member(w.org_admin, pending, "admin")
        staff(w.admin_js, "regional_admin", "320000")
        staff(w.admin_zj, "regional_admin", "330000")
        staff(w.operator, "operator")
        staff(w.auditor, "auditor")
        return w
