"""Concurrency: real threads released together by a barrier, each with its own database
connection, against the real database (SQLite file with WAL and IMMEDIATE transactions, or
PostgreSQL). Each protection is first switched off to show that the race it prevents
really happens (CONVENTIONS habit 8), then shown to hold with it on.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db.models import Sum

from innocommons.accounts.models import Organisation, User
from innocommons.core.errors import DomainError
from innocommons.orders.models import Order
from innocommons.vouchers import ledger, services
from innocommons.vouchers.models import Account, Application, Redemption, Voucher
from innocommons.vouchers.services import redemption as redemption_service
from tests import factories as f
from tests.vouchers import factories as vf

Y = 100  # fen per yuan
THREADS = 50

pytestmark = pytest.mark.django_db(transaction=True)

_refs = itertools.count(1)


def race(work: Callable[[int], Any], n: int = THREADS) -> list[tuple[str, Any]]:
    """Run work(0) … work(n-1) in n threads released at the same instant.

    Returns one (outcome, value) per thread: ("ok", result), ("409", DomainError),
    ("guard", InsufficientFunds escaping the service), ("constraint", IntegrityError).
    """
    barrier = threading.Barrier(n)
    results: list[tuple[str, Any]] = [("missing", None)] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = ("ok", work(i))
        except ledger.InsufficientFunds as exc:
            results[i] = ("guard", exc)
        except DomainError as exc:
            results[i] = (str(exc.status), exc)
        except IntegrityError as exc:
            results[i] = ("constraint", exc)
        except Exception as exc:  # reported by the assertions below, with the thread's error
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    errors = [value for outcome, value in results if outcome in ("error", "missing")]
    assert not errors, errors
    return results


def tally(results: list[tuple[str, Any]]) -> Counter[str]:
    return Counter(outcome for outcome, _value in results)


def assert_ledger_clean() -> None:
    report = ledger.check()
    assert report.ok, report.problems


@pytest.fixture
def adm(transactional_db: Any) -> User:
    return vf.regional_admin("310000")


# --- (a) redemptions of one voucher ---------------------------------------------------------


FACE = 1_234_56  # ¥1,234.56: 24 full redemptions of ¥50, then ¥34.56, then nothing
FEE = 100 * Y  # each order: ¥100 at 50 % coverage = ¥50


def completed_orders(client: Organisation, provider: Organisation, n: int) -> list[Order]:
    """n completed orders of one service (one listing, so building them is quick)."""
    first = vf.completed_order(client, provider, fee_fen=FEE)
    rest = [
        Order.objects.create(
            ref=f"RACE{next(_refs):06d}",
            client=client,
            provider=provider,
            resource=first.resource,
            status=Order.Status.COMPLETED,
            quote_fen=FEE,
            fee_fen=FEE,
            completed_at=first.completed_at,
        )
        for _ in range(n - 1)
    ]
    return [first, *rest]


@pytest.fixture
def one_voucher_many_orders(adm: User) -> tuple[Voucher, list[Order], User]:
    world = f.World.build()
    prog = vf.programme(adm, max_per_enterprise_year_fen=1_000_000 * Y)
    voucher = vf.voucher(prog, world.enterprise, FACE, adm)
    orders = completed_orders(world.enterprise, world.provider, THREADS)
    return voucher, orders, world.enterprise_member


def redeem_all_at_once(voucher: Voucher, orders: list[Order], holder: User) -> Counter[str]:
    def work(i: int) -> Redemption:
        actor = User.objects.get(pk=holder.pk)  # one user object per thread
        return services.redeem_voucher(actor=actor, voucher=voucher.code, order_id=orders[i].pk)

    results = race(work)
    voucher.refresh_from_db()
    redeemed = Redemption.objects.filter(voucher=voucher).aggregate(s=Sum("amount_fen"))["s"]
    # Never overdrawn, whatever happened: what was paid is exactly what left the voucher.
    assert voucher.balance_fen >= 0
    assert (redeemed or 0) == voucher.face_value_fen - voucher.balance_fen
    assert Account.objects.get(voucher=voucher).balance_fen == voucher.balance_fen
    assert Redemption.objects.filter(voucher=voucher).count() == tally(results)["ok"]
    assert_ledger_clean()
    return tally(results)


def test_without_the_lock_stale_redemptions_hit_the_constraints(
    one_voucher_many_orders: tuple[Voucher, list[Order], User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race exists: with LOCKING off, requests decide on a balance read before they
    write; the database's CHECK (balance ≥ 0) or the ledger's conditional update has to
    stop those that would overdraw."""
    monkeypatch.setattr(redemption_service, "LOCKING", False)
    outcomes = redeem_all_at_once(*one_voucher_many_orders)
    stopped = outcomes["constraint"] + outcomes["guard"]
    assert stopped > 0, f"no request passed a stale check: {outcomes}"


def test_concurrent_redemptions_of_one_voucher_never_overdraw(
    one_voucher_many_orders: tuple[Voucher, list[Order], User],
) -> None:
    voucher, _orders, _holder = one_voucher_many_orders
    outcomes = redeem_all_at_once(*one_voucher_many_orders)
    # With the lock every request decides on the current balance: the last ¥34.56 is paid
    # out, and every refusal is a clean 409, none needed the constraints.
    assert outcomes == Counter({"ok": 25, "409": THREADS - 25}), outcomes
    amounts = Counter(
        Redemption.objects.filter(voucher=voucher).values_list("amount_fen", flat=True)
    )
    assert amounts == Counter({50 * Y: 24, 34_56: 1})
    voucher.refresh_from_db()
    assert (voucher.balance_fen, voucher.status) == (0, Voucher.Status.EXHAUSTED)


def test_concurrent_repeats_of_one_request_pay_once(
    one_voucher_many_orders: tuple[Voucher, list[Order], User],
) -> None:
    """A client retrying the same request (same order, same idempotency key) many times at
    once gets one redemption: every answer is that redemption or a conflict."""
    voucher, orders, holder = one_voucher_many_orders

    def work(_i: int) -> Redemption:
        return services.redeem_voucher(
            actor=User.objects.get(pk=holder.pk),
            voucher=voucher.code,
            order_id=orders[0].pk,
            idempotency_key="retry-7f3a",
        )

    results = race(work, n=20)
    redemptions = list(Redemption.objects.filter(order=orders[0]))
    assert len(redemptions) == 1
    assert {value.pk for outcome, value in results if outcome == "ok"} == {redemptions[0].pk}
    assert set(tally(results)) <= {"ok", "409"}
    assert_ledger_clean()


# --- (b) approvals against a small budget ---------------------------------------------------


BUDGET = 1_000 * Y
ASK = 70 * Y  # 14 approvals fit (¥980); ¥20 stays uncommitted


@pytest.fixture
def many_applications(adm: User) -> tuple[Any, list[Application]]:
    prog = vf.programme(adm, budget_fen=BUDGET)
    applications = [
        services.apply_for_voucher(
            actor=vf.member_of(org),
            programme_id=prog.pk,
            organisation_id=org.pk,
            amount_fen=ASK,
            purpose="检测",
        )
        for org in (f.org(region="310104") for _ in range(THREADS))
    ]
    return prog, applications


def approve_all_at_once(
    adm: User, prog: Any, applications: list[Application]
) -> list[tuple[str, Any]]:
    def work(i: int) -> Voucher:
        return services.approve_application(
            actor=User.objects.get(pk=adm.pk), application_id=applications[i].pk
        )

    results = race(work)
    committed = Voucher.objects.filter(programme=prog).aggregate(s=Sum("face_value_fen"))["s"] or 0
    budget = ledger.programme_account(prog, Account.Kind.BUDGET).balance_fen
    approved = Application.objects.filter(programme=prog, status="approved")
    assert committed <= BUDGET
    assert committed + budget == BUDGET
    assert committed == tally(results)["ok"] * ASK
    assert (
        approved.count() == Voucher.objects.filter(programme=prog).count() == tally(results)["ok"]
    )
    assert_ledger_clean()
    return results


@pytest.fixture
def constraint_hits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[IntegrityError]]:
    """Count the IntegrityErrors raised inside ledger.post (approve_application turns them
    into a generic 409, so they are counted where they happen)."""
    hits: list[IntegrityError] = []
    original = ledger.post

    def counting_post(**kwargs: Any) -> Any:
        try:
            return original(**kwargs)
        except IntegrityError as exc:
            hits.append(exc)
            raise

    monkeypatch.setattr(ledger, "post", counting_post)
    yield hits


def test_without_the_guard_the_budget_check_constraint_stops_over_commitment(
    adm: User,
    many_applications: tuple[Any, list[Application]],
    monkeypatch: pytest.MonkeyPatch,
    constraint_hits: list[IntegrityError],
) -> None:
    """Switch off ledger.post's conditional decrement of the budget: every approval the
    budget cannot cover now reaches the UPDATE, and the account_not_negative CHECK is the
    only thing that stops it."""
    monkeypatch.setattr(ledger, "MAY_GO_NEGATIVE", {Account.Kind.FUNDING, Account.Kind.BUDGET})
    prog, applications = many_applications
    results = approve_all_at_once(adm, prog, applications)
    assert tally(results)["ok"] == BUDGET // ASK
    assert len(constraint_hits) == THREADS - BUDGET // ASK
    assert all("account_not_negative" in str(e) or "CHECK" in str(e) for e in constraint_hits)


def test_a_check_before_the_update_is_a_race_on_postgresql(
    adm: User,
    many_applications: tuple[Any, list[Application]],
    monkeypatch: pytest.MonkeyPatch,
    constraint_hits: list[IntegrityError],
) -> None:
    """Replace the conditional UPDATE with what looks equivalent: read the balance, check
    it, then decrement. On PostgreSQL (READ COMMITTED) concurrent approvals read the same
    balance, pass the check and the CHECK constraint has to stop them. SQLite's IMMEDIATE
    transactions serialise writers, so there the read is never stale and the naive check
    happens to hold: this is why the services rely on the conditional update instead."""
    original = ledger.post  # already wrapped by `constraint_hits`
    monkeypatch.setattr(ledger, "MAY_GO_NEGATIVE", {Account.Kind.FUNDING, Account.Kind.BUDGET})

    def check_then_post(**kwargs: Any) -> Any:
        for account, amount in kwargs["lines"]:
            if amount < 0 and account.kind == Account.Kind.BUDGET:
                if Account.objects.get(pk=account.pk).balance_fen < -amount:
                    raise ledger.InsufficientFunds(account)
        time.sleep(0.01)  # a realistic gap between the check and the write
        return original(**kwargs)

    monkeypatch.setattr(ledger, "post", check_then_post)
    prog, applications = many_applications
    results = approve_all_at_once(adm, prog, applications)
    assert tally(results)["ok"] == BUDGET // ASK
    if connection.vendor == "postgresql":
        assert len(constraint_hits) > 0, "no approval passed a stale check"
    else:
        assert constraint_hits == []


def test_concurrent_approvals_never_over_commit_the_budget(
    adm: User,
    many_applications: tuple[Any, list[Application]],
    constraint_hits: list[IntegrityError],
) -> None:
    prog, applications = many_applications
    results = approve_all_at_once(adm, prog, applications)
    outcomes = tally(results)
    assert outcomes == Counter({"ok": BUDGET // ASK, "409": THREADS - BUDGET // ASK}), outcomes
    assert constraint_hits == []  # the conditional update decided, not the constraint
    assert {e.field for outcome, e in results if outcome == "409"} == {"amount_fen"}
    assert ledger.programme_account(prog, Account.Kind.BUDGET).balance_fen == BUDGET % ASK
    assert Application.objects.filter(status="submitted").count() == THREADS - BUDGET // ASK


# --- other races ------------------------------------------------------------------------------


def test_concurrent_applications_of_one_organisation_leave_one_pending(adm: User) -> None:
    """The rule "one application awaiting a decision per organisation and programme"
    must hold when an impatient user submits the form many times at once."""
    prog = vf.programme(adm)
    org = f.org(region="310104")
    member = vf.member_of(org)

    def work(_i: int) -> Application:
        return services.apply_for_voucher(
            actor=User.objects.get(pk=member.pk),
            programme_id=prog.pk,
            organisation_id=org.pk,
            amount_fen=ASK,
            purpose="检测",
        )

    results = race(work, n=20)
    assert Application.objects.filter(organisation=org, status="submitted").count() == 1
    assert tally(results) == Counter({"ok": 1, "409": 19})
