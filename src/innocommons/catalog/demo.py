"""Demo data: real providers of the four regions, G60 enterprises, curated listings, one
account per role — and a deterministic generator of plausible synthetic listings for scale.

Loading is idempotent: organisations are keyed by credit code, listings by `ref`, users by
username, so running it twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from innocommons.accounts.creditcode import CHARSET, make_code
from innocommons.accounts.models import Membership, Organisation, StaffRole, User
from innocommons.catalog.models import (
    Achievement,
    Expert,
    Instrument,
    Kind,
    Resource,
    Service,
    Status,
    Term,
)
from innocommons.core.models import Region
from innocommons.core.money import yuan_to_fen

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_PASSWORD = "innocommons-demo"  # noqa: S105 - published demo accounts, local only
PUBLIC_TYPES = {"university", "institute", "government"}


def _read(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def demo_credit_code(key: str, org_type: str, region: str) -> str:
    """A valid, stable credit code for a demo organisation."""
    prefix = "12" if org_type in PUBLIC_TYPES else "91"
    digest = hashlib.sha256(key.encode()).digest()
    body = "".join(CHARSET[b % len(CHARSET)] for b in digest[:8])
    return make_code(prefix, region[:6].ljust(6, "0"), body)


ACCOUNTS = [
    # username, display name, role description
    ("enterprise", "企业用户 Enterprise member", "enterprise member"),
    ("provider", "服务方用户 Provider member", "provider member"),
    ("orgadmin", "机构管理员 Organisation admin", "organisation admin"),
    ("admin-sh", "上海管理员 Shanghai administrator", "regional administrator (Shanghai)"),
    ("admin-js", "江苏管理员 Jiangsu administrator", "regional administrator (Jiangsu)"),
    ("admin-zj", "浙江管理员 Zhejiang administrator", "regional administrator (Zhejiang)"),
    ("admin-ah", "安徽管理员 Anhui administrator", "regional administrator (Anhui)"),
    ("operator", "平台运营 Platform operator", "platform operator"),
    ("auditor", "审计员 Auditor", "auditor"),
]


def _user(username: str, display: str) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display, "email": f"{username}@demo.local"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def load_organisations(data: dict[str, Any]) -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}
    now = timezone.now()
    for row in data["organisations"]:
        code = demo_credit_code(row["key"], row["type"], row["region"])
        org, _ = Organisation.objects.get_or_create(
            credit_code=code,
            defaults={
                "name_zh": row["name_zh"],
                "name_en": row.get("name_en", ""),
                "type": row["type"],
                "region_id": row["region"],
                "status": Organisation.Status.VERIFIED,
                "verified_at": now,
                "is_high_tech": row.get("is_high_tech", False),
                "is_tech_sme": row.get("is_tech_sme", False),
                "website": row.get("website", ""),
                "address": row.get("address", ""),
                "description": row.get("description", ""),
                "contact_email": f"contact@{row['key']}.demo.local",
            },
        )
        orgs[row["key"]] = org
    # Two applications waiting for review: one with a genuine early-pilot code whose check
    # character fails (DESIGN §6), so the verifier sees the flag.
    pending = [
        (
            "91350100M0001TGQXM",
            "闽沪联合新材料有限公司",
            "Min-Hu Joint New Materials Co.",
            "310117",
            True,
        ),
        (
            demo_credit_code("pending-suzhou", "enterprise", "320500"),
            "苏州启明微纳科技有限公司",
            "Suzhou Qiming Micro-Nano Technology Co.",
            "320500",
            False,
        ),
    ]
    for code, name_zh, name_en, region, flagged in pending:
        Organisation.objects.get_or_create(
            credit_code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "type": "enterprise",
                "region_id": region,
                "credit_code_flagged": flagged,
                "is_tech_sme": True,
            },
        )
    return orgs


def load_accounts(orgs: dict[str, Organisation]) -> list[tuple[str, str]]:
    enterprises = [o for o in orgs.values() if o.type == "enterprise"]
    providers = [o for o in orgs.values() if o.type != "enterprise"]
    users = {u: _user(u, d) for u, d, _ in ACCOUNTS}
    Membership.objects.get_or_create(user=users["enterprise"], organisation=enterprises[0])
    Membership.objects.get_or_create(user=users["provider"], organisation=providers[0])
    Membership.objects.get_or_create(
        user=users["orgadmin"], organisation=providers[0], defaults={"role": "admin"}
    )
    Membership.objects.get_or_create(
        user=users["orgadmin"], organisation=enterprises[0], defaults={"role": "admin"}
    )
    for username, region in (
        ("admin-sh", "310000"),
        ("admin-js", "320000"),
        ("admin-zj", "330000"),
        ("admin-ah", "340000"),
    ):
        StaffRole.objects.get_or_create(
            user=users[username], role="regional_admin", region_id=region
        )
    StaffRole.objects.get_or_create(user=users["operator"], role="operator", region=None)
    User.objects.filter(pk=users["operator"].pk).update(is_staff=True, is_superuser=True)
    StaffRole.objects.get_or_create(user=users["auditor"], role="auditor", region=None)
    return [(u, desc) for u, _, desc in ACCOUNTS]


def _terms(scheme: str) -> dict[str, Term]:
    return {t.code: t for t in Term.objects.filter(scheme=scheme)}


def _fen(yuan: Any) -> int | None:
    return None if yuan is None else yuan_to_fen(str(yuan))


def load_listings(data: dict[str, Any], orgs: dict[str, Organisation]) -> int:
    """Create curated listings whose `ref` does not exist yet; return how many were created."""
    fields = _terms(Term.Scheme.TECH_FIELD)
    icats = _terms(Term.Scheme.INSTRUMENT_CATEGORY)
    scats = _terms(Term.Scheme.SERVICE_CATEGORY)
    stages = _terms(Term.Scheme.MATURITY_STAGE)
    existing = set(Resource.objects.filter(ref__startswith="demo-").values_list("ref", flat=True))
    now = timezone.now()
    created = 0
    sections = (
        ("instruments", Kind.INSTRUMENT),
        ("services", Kind.SERVICE),
        ("achievements", Kind.ACHIEVEMENT),
        ("experts", Kind.EXPERT),
    )
    for section, kind in sections:
        for i, row in enumerate(data.get(section, [])):
            if row["ref"] in existing:
                continue
            owner = orgs[row["owner"]]
            price = row.get("price_yuan")
            resource = Resource.objects.create(
                kind=kind,
                owner=owner,
                region_id=row.get("region") or owner.region_id,
                title_zh=row["title_zh"],
                title_en=row.get("title_en", ""),
                summary_zh=row.get("summary_zh", ""),
                summary_en=row.get("summary_en", ""),
                keywords=";".join(row.get("keywords", [])),
                field=fields.get(row.get("field", "")),
                price_fen=_fen(price),
                status=Status.PUBLISHED,
                ref=row["ref"],
                published_at=now - timedelta(hours=3 * i + len(section)),
            )
            if kind == Kind.INSTRUMENT:
                Instrument.objects.create(
                    resource=resource,
                    category=icats.get(row.get("category", "")),
                    manufacturer=row.get("manufacturer", ""),
                    model_name=row.get("model_name", ""),
                    origin_country=row.get("origin_country", ""),
                    original_value_fen=_fen(row.get("original_value_yuan")),
                    location=row.get("location", ""),
                    fee_per_hour_fen=_fen(row.get("fee_per_hour_yuan")),
                    fee_per_sample_fen=_fen(row.get("fee_per_sample_yuan")),
                    internal_discount_pct=row.get("internal_discount_pct", 0),
                    sharing_mode=row.get("sharing_mode", "scheduled"),
                    opening_hours=row.get("opening_hours", ""),
                    min_booking_minutes=row.get("min_booking_minutes", 60),
                    max_booking_minutes=row.get("max_booking_minutes", 480),
                    lead_time_hours=row.get("lead_time_hours", 24),
                    needs_approval=row.get("needs_approval", True),
                )
            elif kind == Kind.SERVICE:
                Service.objects.create(
                    resource=resource,
                    category=scats.get(row.get("category", "")),
                    price_unit=row.get("price_unit", ""),
                    turnaround_days=row.get("turnaround_days"),
                    cma=row.get("cma", False),
                    cnas=row.get("cnas", False),
                )
            elif kind == Kind.ACHIEVEMENT:
                Achievement.objects.create(
                    resource=resource,
                    trl=row.get("trl"),
                    stage=stages.get(row.get("stage", "")),
                    patents="; ".join(row.get("patents", [])),
                    transfer_modes=",".join(row.get("transfer_modes", [])),
                    problem=row.get("problem_zh", ""),
                    advantages=row.get("advantages_zh", ""),
                )
            else:
                Expert.objects.create(resource=resource, person_title=row.get("person_title", ""))
            created += 1
    return created


def demo_organisations() -> dict[str, Organisation]:
    """The curated demo organisations by their key in demo.json."""
    rows = _read("demo.json")["organisations"]
    codes = {demo_credit_code(r["key"], r["type"], r["region"]): r["key"] for r in rows}
    found = Organisation.objects.filter(credit_code__in=codes)
    return {codes[o.credit_code or ""]: o for o in found}


def demo_member(org: Organisation) -> User:
    """Someone acting for a demo organisation: its first member, or a demo stand-in."""
    user = User.objects.filter(memberships__organisation=org).order_by("pk").first()
    if user is None:
        user, _ = User.objects.get_or_create(
            username=f"demo-{org.pk}", defaults={"display_name": f"{org.name_zh} 经办人"}
        )
        Membership.objects.get_or_create(user=user, organisation=org)
    return user


def load_demo() -> tuple[int, list[tuple[str, str]]]:
    """Load the curated demo data set. Returns (listings created, accounts)."""
    data = _read("demo.json")
    with transaction.atomic():
        orgs = load_organisations(data)
        accounts = load_accounts(orgs)
        created = load_listings(data, orgs)
    return created, accounts


# --- Synthetic listings for scale ------------------------------------------------------

SYNTH_PREFIX = "syn-"


class Synthesizer:
    """Deterministic plausible listings: listing i is the same on every run and machine."""

    def __init__(self, seed: int = 2026) -> None:
        self.vocab = _read("synthetic.json")
        self.seed = seed
        self.fields = _terms(Term.Scheme.TECH_FIELD)
        self.icats = _terms(Term.Scheme.INSTRUMENT_CATEGORY)
        self.scats = _terms(Term.Scheme.SERVICE_CATEGORY)
        self.field_ids = {c: t.pk for c, t in self.fields.items()}
        self.icat_ids = {c: t.pk for c, t in self.icats.items()}
        self.scat_ids = {c: t.pk for c, t in self.scats.items()}
        self.stage_ids = [t.pk for t in _terms(Term.Scheme.MATURITY_STAGE).values()]
        self.cities = list(Region.objects.filter(in_community=True, level__in=["city", "district"]))
        self.now = timezone.now()

    def organisations(self, count: int) -> list[Organisation]:
        """`count` synthetic verified organisations, created once."""
        rng = random.Random(self.seed)
        existing = {
            o.credit_code: o for o in Organisation.objects.filter(name_en__startswith="Synthetic ")
        }
        out: list[Organisation] = []
        new: list[Organisation] = []
        kinds = ["enterprise", "enterprise", "service_provider", "institute", "university"]
        for i in range(count):
            city = self.cities[i % len(self.cities)]
            topic = rng.choice(self.vocab["applications"])
            qual = rng.choice(self.vocab["qualifiers"])
            org_type = kinds[i % len(kinds)]
            code = demo_credit_code(f"synthetic-org-{i}", org_type, city.code)
            if code in existing:
                out.append(existing[code])
                continue
            suffix = {
                "enterprise": ("科技有限公司", "Technology Co."),
                "service_provider": ("检测技术服务有限公司", "Testing Services Co."),
                "institute": ("研究院", "Research Institute"),
                "university": ("技术学院", "Institute of Technology"),
            }[org_type]
            org = Organisation(
                name_zh=f"{city.name_zh}{qual['zh']}{topic['zh']}{suffix[0]}{i}",
                name_en=f"Synthetic {city.name_en} {qual['en']} {topic['en']} {suffix[1]} {i}",
                type=org_type,
                credit_code=code,
                region=city,
                status=Organisation.Status.VERIFIED,
                verified_at=timezone.now(),
                is_tech_sme=org_type == "enterprise" and i % 3 == 0,
            )
            new.append(org)
            out.append(org)
        Organisation.objects.bulk_create(new, batch_size=1000)
        return out

    def listing(
        self, i: int, orgs: list[Organisation]
    ) -> tuple[dict[str, Any], Any, dict[str, Any]]:
        """Column values of listing i: (resource, detail model, detail)."""
        rng = random.Random(self.seed * 1_000_003 + i)
        owner = orgs[rng.randrange(len(orgs))]
        qual = rng.choice(self.vocab["qualifiers"])
        app = rng.choice(self.vocab["applications"])
        roll = rng.random()
        common: dict[str, Any] = {
            "owner_id": owner.pk,
            "region_id": owner.region_id,
            "status": Status.PUBLISHED,
            "ref": f"{SYNTH_PREFIX}{i}",
            "published_at": self.now - timedelta(minutes=i),
        }
        if roll < 0.3:
            fam = rng.choice(self.vocab["instrument_families"])
            maker = rng.choice(fam.get("makers") or ["—"])
            lo, hi = fam.get("value_yuan", [600_000, 3_000_000])
            flo, fhi = fam.get("fee_per_hour_yuan", [200, 800])
            r = dict(
                kind=Kind.INSTRUMENT.value,
                title_zh=f"{maker} {qual['zh']}{fam['zh']}",
                title_en=f"{maker} {qual['en']} {fam['en']}",
                summary_zh=f"{owner.name_zh}的{fam['zh']}，面向{app['zh']}等领域开放共享，提供测试与培训。",
                summary_en=(
                    f"A {fam['en']} at {owner.name_en}, "
                    f"shared for {app['en']} and related research."
                ),
                keywords=f"{fam['zh']};{app['zh']};{qual['zh']}",
                field_id=self.field_ids.get(fam.get("field", "")),
                **common,
            )
            model: Any = Instrument
            d: dict[str, Any] = dict(
                category_id=self.icat_ids.get(fam.get("category", "")),
                manufacturer=maker,
                model_name=f"{maker[:2].upper()}-{rng.randint(100, 9999)}",
                original_value_fen=rng.randint(lo, hi) * 100,
                fee_per_hour_fen=rng.randint(flo, fhi) * 100,
            )
        elif roll < 0.6:
            topic = rng.choice(self.vocab["service_topics"])
            price = rng.choice([None, rng.randint(2, 400) * 50])
            r = dict(
                kind=Kind.SERVICE.value,
                title_zh=f"{qual['zh']}{topic['zh']}",
                title_en=f"{qual['en']} {topic['en']}",
                summary_zh=f"{owner.name_zh}提供{topic['zh']}服务，服务{app['zh']}企业，出具规范报告。",
                summary_en=(
                    f"{topic['en'].capitalize()} by {owner.name_en} for {app['en']} companies."
                ),
                keywords=f"{topic['zh']};{app['zh']}",
                field_id=self.field_ids.get(topic.get("field", "")),
                price_fen=None if price is None else price * 100,
                **common,
            )
            model = Service
            d = dict(
                category_id=self.scat_ids.get(topic.get("category", "")),
                turnaround_days=rng.randint(3, 30),
                cma=rng.random() < 0.5,
                cnas=rng.random() < 0.4,
                price_unit="元/样",
            )
        elif roll < 0.9:
            topic = rng.choice(self.vocab["achievement_topics"])
            trl = rng.randint(3, 9)
            r = dict(
                kind=Kind.ACHIEVEMENT.value,
                title_zh=f"面向{app['zh']}的{qual['zh']}{topic['zh']}",
                title_en=f"{qual['en'].capitalize()} {topic['en']} for {app['en']}",
                summary_zh=f"{owner.name_zh}研发的{topic['zh']}，已完成技术验证，可用于{app['zh']}。",
                summary_en=(
                    f"{topic['en'].capitalize()} developed by {owner.name_en}, "
                    f"validated for {app['en']}."
                ),
                keywords=f"{topic['zh']};{app['zh']};{qual['zh']}",
                field_id=self.field_ids.get(topic.get("field", "")),
                price_fen=rng.choice([None, rng.randint(20, 2000) * 10_000 * 100]),
                **common,
            )
            model = Achievement
            d = dict(
                trl=trl,
                stage_id=self.stage_ids[min(len(self.stage_ids) - 1, (trl - 1) // 2)]
                if self.stage_ids
                else None,
                transfer_modes=rng.choice(
                    ["transfer", "licence", "transfer,licence", "joint", "equity"]
                ),
            )
        else:
            sur = rng.choice(self.vocab["surnames"])
            given = rng.choice(self.vocab["given_names"])
            title = rng.choice(self.vocab["person_titles"])
            topic = rng.choice(self.vocab["achievement_topics"])
            r = dict(
                kind=Kind.EXPERT.value,
                title_zh=f"{sur['zh']}{given['zh']}",
                title_en=f"{given['en']} {sur['en']}",
                summary_zh=f"{owner.name_zh}{title['zh']}，研究方向为{topic['zh']}及其在{app['zh']}中的应用。",
                summary_en=(
                    f"{title['en']} at {owner.name_en}, working on {topic['en']} for {app['en']}."
                ),
                keywords=f"{topic['zh']};{app['zh']}",
                field_id=self.field_ids.get(topic.get("field", "")),
                **common,
            )
            model = Expert
            d = dict(person_title=title["zh"])
        return r, model, d

    def generate(
        self,
        count: int,
        *,
        start: int = 0,
        chunk: int = 5000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Create listings start … start+count-1 that do not exist yet.

        Rows go in with plain multi-row INSERTs (Django model instances cost more than the
        insert itself at this scale) and without outbox rows: the caller reindexes once at
        the end, which is far faster than indexing row by row.
        """
        orgs = self.organisations(max(20, min(5000, count // 200)))
        resources = _RawTable(Resource)
        details = {m: _RawTable(m) for m in (Instrument, Service, Achievement, Expert)}
        made = 0
        # On a first run nothing exists yet: skip the per-chunk existence check.
        any_existing = Resource.objects.filter(ref__startswith=SYNTH_PREFIX).exists()
        for lo in range(start, start + count, chunk):
            hi = min(start + count, lo + chunk)
            refs = [f"{SYNTH_PREFIX}{i}" for i in range(lo, hi)]
            have = (
                set(Resource.objects.filter(ref__in=refs).values_list("ref", flat=True))
                if any_existing
                else set()
            )
            todo = [i for i in range(lo, hi) if f"{SYNTH_PREFIX}{i}" not in have]
            with transaction.atomic():
                first_id = resources.reserve_ids(len(todo))
                by_model: dict[Any, list[dict[str, Any]]] = {}
                rows = []
                for offset, i in enumerate(todo):
                    r, model, d = self.listing(i, orgs)
                    r["id"] = d["resource_id"] = first_id + offset
                    rows.append(r)
                    by_model.setdefault(model, []).append(d)
                resources.insert(rows, self.now)
                for model, drows in by_model.items():
                    details[model].insert(drows, self.now)
            made += len(todo)
            if progress:
                progress(hi - lo)
        resources.reset_sequence()
        return made


class _RawTable:
    """Multi-row INSERTs into a model's table, with its defaults filled in."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        self.defaults: dict[str, Any] = {}
        for f in self.fields:
            if f.has_default():
                self.defaults[f.attname] = f.get_default()
            elif f.null:
                self.defaults[f.attname] = None
            else:
                self.defaults[f.attname] = ""

    def reserve_ids(self, n: int) -> int:
        """The first of n fresh primary keys (called inside the write transaction)."""
        with connection.cursor() as cur:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")  # noqa: S608
            return int(cur.fetchone()[0]) + 1

    def insert(self, rows: list[dict[str, Any]], now: Any) -> None:
        auto_now = {
            f.attname
            for f in self.fields
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        }
        # Only datetimes need the backend's adaptation; str, int, bool and None pass as they are.
        adapt = connection.ops.adapt_datetimefield_value
        dt_attrs = {f.attname for f in self.fields if f.get_internal_type() == "DateTimeField"}
        attrs = [f.attname for f in self.fields]
        stamp = adapt(now)
        values = []
        for row in rows:
            full = {**self.defaults, **dict.fromkeys(auto_now, now), **row}
            values.append(
                [
                    (stamp if full[a] is now else adapt(full[a])) if a in dt_attrs else full[a]
                    for a in attrs
                ]
            )
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        one = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        per_statement = max(1, 900 // len(self.columns))  # SQLite's variable limit
        with connection.cursor() as cur:
            for i in range(0, len(values), per_statement):
                batch = values[i : i + per_statement]
                sql = f"INSERT INTO {self.table} ({quoted}) VALUES " + ", ".join([one] * len(batch))  # noqa: S608
                cur.execute(sql, [v for row in batch for v in row])

    def reset_sequence(self) -> None:
        """After explicit ids, PostgreSQL's id sequence must continue past them."""
        statements = connection.ops.sequence_reset_sql(no_style(), [self.model])
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
