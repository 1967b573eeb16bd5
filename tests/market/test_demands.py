"""Technology demands through the services and selectors: states, validation, who may post
and edit, confidentiality of the details, interest threads, alerts to matching providers,
and the expiry job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from innocommons.core.errors import DomainError, NotFound, PermissionDenied
from innocommons.core.models import AuditEntry, Notification
from innocommons.market import tasks
from innocommons.market.models import Demand, DemandAlert, DemandTerm, Message, Thread
from innocommons.market.selectors import demands as selectors
from innocommons.market.services import demands as services
from tests import factories
from tests.market.test_demands_support import (
    demand_input,
    index,
    listing,
    make_demand,
    member_of,
    sodium_catalog,
)

pytestmark = pytest.mark.django_db


def audit_actions(demand: Demand) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="market.demand", target_id=str(demand.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- states -------------------------------------------------------------------------------


def test_draft_publish_close_with_audit_and_key_terms(world) -> None:
    d = make_demand(world, publish=False)
    assert d.status == Demand.Status.DRAFT and d.outcome == "" and d.published_at is None
    assert {"钠离子", "正极"} <= set(
        DemandTerm.objects.filter(demand=d).values_list("token", flat=True)
    )

    services.publish_demand(actor=world.enterprise_member, demand_id=d.pk)
    d.refresh_from_db()
    assert d.status == Demand.Status.PUBLISHED and d.published_at is not None
    with pytest.raises(DomainError) as exc:
        services.publish_demand(actor=world.enterprise_member, demand_id=d.pk)
    assert exc.value.status == 409

    services.close_demand(actor=world.enterprise_member, demand_id=d.pk, outcome="solved")
    d.refresh_from_db()
    assert (d.status, d.outcome) == (Demand.Status.CLOSED, Demand.Outcome.SOLVED)
    assert d.closed_at is not None
    for call in (
        lambda: services.close_demand(
            actor=world.enterprise_member, demand_id=d.pk, outcome="withdrawn"
        ),
        lambda: services.update_demand(
            actor=world.enterprise_member, demand_id=d.pk, changes={"title_zh": "新"}
        ),
    ):
        with pytest.raises(DomainError) as exc:
            call()
        assert exc.value.status == 409
    assert audit_actions(d) == [
        "market.demand.create",
        "market.demand.publish",
        "market.demand.close",
    ]


def test_only_drafts_publish_and_only_published_demands_close(world) -> None:
    draft = make_demand(world, publish=False)
    with pytest.raises(DomainError) as exc:
        services.close_demand(actor=world.enterprise_member, demand_id=draft.pk, outcome="solved")
    assert exc.value.status == 409
    live = make_demand(world)
    with pytest.raises(DomainError) as exc:
        services.close_demand(actor=world.enterprise_member, demand_id=live.pk, outcome="expired")
    assert exc.value.field == "outcome"  # expiry belongs to the job


def test_update_changes_fields_and_refreshes_terms(world) -> None:
    d = make_demand(world)
    services.update_demand(
        actor=world.enterprise_member,
        demand_id=d.pk,
        changes={
            "title_zh": "储能液冷热管理系统",
            "summary_zh": "电芯温差大，寻求液冷板与温控方案。",
            "keywords": ["液冷", "温控"],
        },
    )
    d.refresh_from_db()
    assert d.keywords == "液冷;温控"
    tokens = set(DemandTerm.objects.filter(demand=d).values_list("token", flat=True))
    assert "液冷" in tokens and "钠离子" not in tokens
    entry = AuditEntry.objects.filter(action="market.demand.update", target_id=str(d.pk)).get()
    assert entry.before["title_zh"] == "钠离子电池正极材料技术许可"
    with pytest.raises(DomainError) as exc:
        services.update_demand(
            actor=world.enterprise_member, demand_id=d.pk, changes={"status": "closed"}
        )
    assert exc.value.field == "status"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title_zh": "  "}, "title_zh"),
        ({"summary_zh": ""}, "summary_zh"),
        ({"title_zh": "长" * 201}, "title_zh"),
        ({"field": "99"}, "field"),
        ({"deadline": timezone.localdate() - timedelta(days=1)}, "deadline"),
        ({"budget_min_fen": 2_000, "budget_max_fen": 1_000}, "budget_min_fen"),
        ({"budget_max_fen": -1}, "budget_max_fen"),
        ({"budget_max_fen": 10**15}, "budget_max_fen"),
        ({"min_trl": 10}, "min_trl"),
        ({"region": "999999"}, "region"),
        ({"confidentiality": "secret"}, "confidentiality"),
    ],
)
def test_validation_names_the_field(world, changes, field) -> None:
    with pytest.raises(DomainError) as exc:
        services.create_demand(
            actor=world.enterprise_member, data=demand_input(world.enterprise, **changes)
        )
    assert exc.value.field == field and exc.value.status == 400
    assert not Demand.objects.exists()


# --- who may post and edit ------------------------------------------------------------


def test_enterprises_post_verified_ones_publish(world) -> None:
    with pytest.raises(PermissionDenied):  # a university's member
        services.create_demand(actor=world.provider_member, data=demand_input(world.provider))
    with pytest.raises(PermissionDenied):  # not a member of the enterprise
        services.create_demand(actor=world.outsider, data=demand_input(world.enterprise))
    # The pending enterprise prepares a draft but cannot publish it yet.
    draft = services.create_demand(actor=world.org_admin, data=demand_input(world.pending))
    with pytest.raises(DomainError) as exc:
        services.publish_demand(actor=world.org_admin, demand_id=draft.pk)
    assert exc.value.status == 409
    suspended = factories.org(status="suspended")
    factories.member(world.outsider, suspended)
    with pytest.raises(PermissionDenied):
        services.create_demand(actor=world.outsider, data=demand_input(suspended))


@pytest.mark.parametrize("who", ["provider_member", "outsider", "operator", "auditor", "admin_js"])
def test_only_the_posting_organisation_edits(world, who) -> None:
    d = make_demand(world)
    user = getattr(world, who)
    for call in (
        lambda: services.update_demand(actor=user, demand_id=d.pk, changes={"title_zh": "改"}),
        lambda: services.close_demand(actor=user, demand_id=d.pk, outcome="withdrawn"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert not selectors.can_edit(user, d)
    d.refresh_from_db()
    assert d.title_zh == "钠离子电池正极材料技术许可" and d.status == Demand.Status.PUBLISHED


def test_another_member_of_the_poster_edits(world) -> None:
    d = make_demand(world)
    colleague = factories.user()
    factories.member(colleague, world.enterprise)
    services.update_demand(actor=colleague, demand_id=d.pk, changes={"title_zh": "钠离子电池正极"})
    assert selectors.can_edit(colleague, d)


# --- visibility and confidentiality --------------------------------------------------------


def test_drafts_are_private_published_demands_public(world, django_user_model) -> None:
    from django.contrib.auth.models import AnonymousUser

    draft = make_demand(world, publish=False)
    live = make_demand(world)
    for user in (AnonymousUser(), world.outsider, world.provider_member, world.admin_js):
        with pytest.raises(NotFound):
            selectors.get_demand(user, draft.pk)
        assert selectors.get_demand(user, live.pk) == live
    for user in (world.enterprise_member, world.operator, world.auditor):
        assert selectors.get_demand(user, draft.pk) == draft
    assert list(selectors.public_demands()) == [live]


def test_details_only_for_verified_organisations(world) -> None:
    from django.contrib.auth.models import AnonymousUser

    d = make_demand(world)
    pending_only = factories.user()
    factories.member(pending_only, world.pending)
    expected = {
        "anonymous": False,
        "outsider": False,  # signed in, no organisation
        "pending_only": False,  # only in an unverified organisation
        "provider_member": True,  # a verified university
        "enterprise_member": True,  # the poster
        "operator": True,
        "auditor": True,
    }
    users = {"anonymous": AnonymousUser(), "pending_only": pending_only}
    for role, allowed in expected.items():
        user = users.get(role) or getattr(world, role)
        assert selectors.can_see_details(user, d) is allowed, role
    services.update_demand(
        actor=world.enterprise_member, demand_id=d.pk, changes={"confidentiality": "public"}
    )
    d.refresh_from_db()
    assert selectors.can_see_details(AnonymousUser(), d)


def test_suspended_posters_demands_disappear(world) -> None:
    d = make_demand(world)
    world.enterprise.status = "suspended"
    world.enterprise.save()
    with pytest.raises(NotFound):
        selectors.get_demand(world.outsider, d.pk)
    assert not selectors.public_demands().exists()


# --- interest and threads ---------------------------------------------------------------


def test_interest_opens_one_thread_per_demand_and_provider(world) -> None:
    d = make_demand(world)
    offer = listing(world.provider, title_zh="钠离子正极")
    t1 = services.express_interest(
        actor=world.provider_member,
        demand_id=d.pk,
        organisation_id=world.provider.pk,
        message="我们有吨级中试数据。",
        resource_id=offer.pk,
    )
    t2 = services.express_interest(
        actor=world.org_admin,  # a colleague at the same provider
        demand_id=d.pk,
        organisation_id=world.provider.pk,
        message="补充：可派工程师现场交流。",
    )
    assert t1.pk == t2.pk and t1.resource_id == offer.pk
    assert Thread.objects.filter(demand=d).count() == 1
    assert (
        list(Message.objects.filter(thread=t1).values_list("organisation_id", flat=True))
        == [world.provider.pk] * 2
    )
    other = factories.org(type="institute", region="330100")
    t3 = services.express_interest(
        actor=member_of(other), demand_id=d.pk, organisation_id=other.pk, message="我们也可以。"
    )
    assert t3.pk != t1.pk and Thread.objects.filter(demand=d).count() == 2
    # The poster is told each time; one audit entry per thread opened.
    assert (
        Notification.objects.filter(
            user=world.enterprise_member, kind="market.demand.interest"
        ).count()
        == 3
    )
    assert AuditEntry.objects.filter(action="market.demand.interest").count() == 2


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("own_demand", DomainError),
        ("unverified", PermissionDenied),
        ("not_member", PermissionDenied),
        ("closed", DomainError),
        ("expired_deadline", DomainError),
        ("draft", NotFound),
        ("foreign_listing", DomainError),
        ("empty", DomainError),
    ],
)
def test_interest_rules(world, case, error) -> None:
    d = make_demand(world, publish=case != "draft")
    actor, org, resource, message = world.provider_member, world.provider, None, "你好"
    if case == "own_demand":
        actor, org = world.enterprise_member, world.enterprise
    elif case == "unverified":
        actor, org = world.org_admin, world.pending
    elif case == "not_member":
        actor = world.outsider
    elif case == "closed":
        services.close_demand(actor=world.enterprise_member, demand_id=d.pk, outcome="withdrawn")
    elif case == "expired_deadline":
        Demand.objects.filter(pk=d.pk).update(deadline=timezone.localdate() - timedelta(days=1))
    elif case == "foreign_listing":
        resource = listing(world.enterprise).pk
    elif case == "empty":
        message = "  "
    with pytest.raises(error):
        services.express_interest(
            actor=actor,
            demand_id=d.pk,
            organisation_id=org.pk,
            message=message,
            resource_id=resource,
        )
    assert not Thread.objects.exists()


def test_only_the_two_organisations_write_and_auditors_also_read_a_thread(world) -> None:
    d = make_demand(world)
    t = services.express_interest(
        actor=world.provider_member,
        demand_id=d.pk,
        organisation_id=world.provider.pk,
        message="你好",
    )
    rival = factories.org(type="institute")
    rival_member = member_of(rival)
    for user in (world.outsider, rival_member, world.operator, world.admin_js):
        with pytest.raises(NotFound):
            selectors.get_thread(user, t.pk)
        with pytest.raises(NotFound):
            services.post_message(actor=user, thread_id=t.pk, body="偷看")
        assert not selectors.my_threads(user).exists()
        assert not selectors.threads_of_demand(user, d).exists()
    # DESIGN §2: auditors read everything, and write nothing.
    assert selectors.get_thread(world.auditor, t.pk) == t
    assert list(selectors.threads_of_demand(world.auditor, d)) == [t]
    with pytest.raises(PermissionDenied):
        services.post_message(actor=world.auditor, thread_id=t.pk, body="审计")
    assert t.messages.count() == 1
    Notification.objects.all().delete()
    reply = services.post_message(actor=world.enterprise_member, thread_id=t.pk, body="请寄样品")
    assert reply.organisation_id == world.enterprise.pk
    # The provider side is told, the author is not.
    told = set(
        Notification.objects.filter(kind="market.thread.message").values_list("user_id", flat=True)
    )
    assert told == {world.provider_member.pk, world.org_admin.pk}
    answer = services.post_message(actor=world.provider_member, thread_id=t.pk, body="明天寄出")
    assert answer.organisation_id == world.provider.pk
    assert (
        Notification.objects.filter(
            kind="market.thread.message", user=world.enterprise_member
        ).count()
        == 1
    )
    assert selectors.get_thread(world.enterprise_member, t.pk) == selectors.get_thread(
        world.provider_member, t.pk
    )
    assert [m.body for m in selectors.thread_messages(t)] == ["你好", "请寄样品", "明天寄出"]
    # The poster sees every thread of its demand, a provider only its own.
    assert list(selectors.threads_of_demand(world.enterprise_member, d)) == [t]
    assert list(selectors.threads_of_demand(rival_member, d)) == []


# --- alerts ---------------------------------------------------------------------------------


def test_publishing_alerts_providers_above_the_threshold_only(
    world, django_capture_on_commit_callbacks
) -> None:
    items = sodium_catalog(world)
    # The poster's own matching listing never alerts itself.
    listing(world.enterprise, title_zh="钠离子电池正极材料（自研）", field="0603")
    index()
    d = make_demand(world, publish=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_demand(actor=world.enterprise_member, demand_id=d.pk)
    alerts = list(DemandAlert.objects.filter(demand=d))
    assert [(a.organisation_id, a.resource_id) for a in alerts] == [
        (world.provider.pk, items["strong"].pk)
    ]
    assert alerts[0].score >= 0.55
    told = set(
        Notification.objects.filter(kind="market.demand.match").values_list("user_id", flat=True)
    )
    assert told == {world.provider_member.pk, world.org_admin.pk}
    assert Notification.objects.get(user=world.provider_member).link == f"/market/demands/{d.pk}/"
    d.refresh_from_db()
    assert d.alerts_sent_at is not None
    # Once only: a second run (the worker's sweep) changes nothing.
    assert services.alert_providers(d.pk) == 0
    assert Notification.objects.filter(kind="market.demand.match").count() == 2
    assert selectors.alerted_listings(world.provider_member, d)[0].resource == items["strong"]


def test_alerts_are_one_batch_whatever_the_number_of_providers(world) -> None:
    def providers(n: int) -> None:
        for i in range(n):
            org = factories.org(type="institute", region="320500", name=f"研究院{n}-{i}")
            listing(
                org,
                title_zh=f"钠离子电池层状氧化物正极材料{i}",
                keywords="钠离子电池;正极材料",
                field="0603",
                trl=7,
                price_yuan="5000000",
            )
            factories.member(factories.user(), org)

    def queries_for_alerts() -> int:
        d = make_demand(world)
        with CaptureQueriesContext(connection) as ctx:
            count = services.alert_providers(d.pk)
        assert count == DemandAlert.objects.filter(demand=d).count()
        return len(ctx.captured_queries)

    providers(1)
    index()
    one = queries_for_alerts()
    providers(4)
    index()
    five = queries_for_alerts()
    assert DemandAlert.objects.values("organisation").distinct().count() == 5
    assert five == one


def test_pending_alerts_are_swept_by_the_worker(world) -> None:
    sodium_catalog(world)
    d = make_demand(world)  # the after-commit alert never ran (the test transaction)
    Demand.objects.filter(pk=d.pk).update(published_at=timezone.now() - timedelta(hours=1))
    tasks.alert_demand_matches()
    assert DemandAlert.objects.filter(demand=d).count() == 1
    d.refresh_from_db()
    assert d.alerts_sent_at is not None


# --- expiry ---------------------------------------------------------------------------------


def test_expiry_job_closes_published_demands_past_their_deadline(world) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    due = make_demand(world)
    draft = make_demand(world, publish=False)
    future = make_demand(world)
    today = make_demand(world, deadline=timezone.localdate())
    solved = make_demand(world)
    services.close_demand(actor=world.enterprise_member, demand_id=solved.pk, outcome="solved")
    Demand.objects.filter(pk__in=[due.pk, draft.pk, solved.pk]).update(deadline=yesterday)

    tasks.expire_demands()

    states = dict(Demand.objects.values_list("pk", "outcome"))
    assert states == {
        due.pk: "expired",
        draft.pk: "",
        future.pk: "",
        today.pk: "",
        solved.pk: "solved",
    }
    assert audit_actions(due)[-1] == "market.demand.expire"
    assert services.expire_demands() == 0  # nothing left to do
