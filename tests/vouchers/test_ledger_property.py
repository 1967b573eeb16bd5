"""Property test: any sequence of voucher operations keeps the ledger consistent.

Hypothesis drives a state machine through random sequences of approvals, rejections,
redemptions, claims and their review, settlement, expiry, revocation and top-ups. After
every step every journal entry must balance and `ledger.check()` must find every cached
balance and programme total equal to its postings; money is conserved per programme.

Isolation between examples: the services open `transaction.atomic(durable=True)`, which
refuses to run inside an ordinary outer atomic block, so an example cannot be wrapped in
its own transaction and rolled back. Django exempts only the test case's own transaction
(here pytest-django's `db` fixture) from that rule. So all examples run inside that one
transaction, rolled back when the test ends; each example builds its own programme,
organisations and users, so examples do not disturb each other, and `ledger.check()`
proves the whole database (every earlier example included) after every step. This is far
faster than flushing the database between examples.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from innocommons.core.errors import DomainError
from innocommons.orders.models import Order
from innocommons.vouchers import ledger, services
from innocommons.vouchers.models import (
    Account,
    Claim,
    JournalEntry,
    Posting,
    Programme,
    Redemption,
    SettlementBatch,
    Voucher,
)
from tests import factories as f
from tests.vouchers import factories as vf

Y = 100
_refs = itertools.count(1)
CONFLICT = 409  # the only refusal a well-formed request may meet here


def pick(items: list[Any], i: int) -> Any:
    return items[i % len(items)]


class VoucherLedger(RuleBasedStateMachine):
    """One programme with a small budget, three enterprises (two related), two providers."""

    def __init__(self) -> None:
        super().__init__()
        self.admin = vf.regional_admin("310000")
        self.programme = vf.programme(
            self.admin,
            budget_fen=3_000 * Y,
            max_per_voucher_fen=1_500 * Y,
            max_per_enterprise_year_fen=2_000 * Y,
            voucher_valid_days=30,
        )
        self.funded = 3_000 * Y
        self.enterprises = [f.org(region=r) for r in ("310104", "310117", "310110")]
        self.enterprises[0].related.add(self.enterprises[1])
        self.members = {org.pk: vf.member_of(org) for org in self.enterprises}
        self.providers = [f.org(type="university", region=r) for r in ("320100", "330100")]
        self.provider_members = {org.pk: vf.member_of(org) for org in self.providers}
        self.services = {
            org.pk: f.resource(org, kind="service", title_zh="检测服务") for org in self.providers
        }
        self.vouchers: list[Voucher] = []
        self.orders: list[Order] = []
        self.claims: list[Claim] = []

    def _try(self, call: Any) -> Any:
        try:
            return call()
        except DomainError as exc:
            assert exc.status == CONFLICT, (exc.status, str(exc))
            return None

    # --- rules ---------------------------------------------------------------------------

    @initialize(first=st.integers(100, 1_500), second=st.integers(100, 1_500))
    def issue_two_vouchers(self, first: int, second: int) -> None:
        """Start with money in the system, so every rule has something to act on."""
        self.apply_and_decide(0, first, 1)
        self.apply_and_decide(2, second, 1)

    @rule(
        who=st.integers(0, 2),
        ask=st.integers(1, 1_500),
        cut=st.sampled_from([1, 1, 2, 3, 0]),  # 0: reject the application
    )
    def apply_and_decide(self, who: int, ask: int, cut: int) -> None:
        org = pick(self.enterprises, who)
        application = services.apply_for_voucher(
            actor=self.members[org.pk],
            programme_id=self.programme.pk,
            organisation_id=org.pk,
            amount_fen=ask * Y,
            purpose="检测",
        )
        voucher = None
        if cut:
            voucher = self._try(
                lambda: services.approve_application(
                    actor=self.admin,
                    application_id=application.pk,
                    amount_fen=max(1, ask * Y // cut),
                )
            )
        if voucher is None:  # rejected, or the budget could not cover it
            services.reject_application(
                actor=self.admin, application_id=application.pk, reason="预算不足"
            )
        else:
            self.vouchers.append(voucher)

    @precondition(lambda self: self.vouchers)
    @rule(
        v=st.integers(0, 20),
        p=st.integers(0, 1),
        fee=st.integers(1, 4_000 * Y),
        reuse=st.integers(-3, 20),
        then=st.sampled_from(["", "claim", "approve", "approve", "reject"]),
    )
    def redeem(self, v: int, p: int, fee: int, reuse: int, then: str) -> None:
        """Redeem on a new order (or an old one), then maybe claim and review at once, so
        that random sequences reach settlement often enough."""
        voucher = pick(self.vouchers, v)
        if reuse >= 0 and self.orders:
            order = pick(self.orders, reuse)  # maybe subsidised already, maybe freed again
        else:
            provider = pick(self.providers, p)
            order = Order.objects.create(
                ref=f"PROP{next(_refs):07d}",
                client=voucher.organisation,
                provider=provider,
                resource=self.services[provider.pk],
                status=Order.Status.COMPLETED,
                quote_fen=fee,
                fee_fen=fee,
                completed_at=timezone.now(),
            )
            self.orders.append(order)
        redeemed = self._try(
            lambda: services.redeem_voucher(
                actor=self.members[voucher.organisation_id],
                voucher=voucher.code,
                order_id=order.pk,
            )
        )
        if redeemed is not None and then:
            claim = self._claim(order.provider_id)
            if claim is not None and then != "claim":
                self._decide(claim, approve=then == "approve")

    def _unclaimed(self) -> list[int]:
        return list(
            Redemption.objects.filter(
                programme=self.programme, claim__isnull=True, reversed_at__isnull=True
            ).values_list("provider_id", flat=True)
        )

    def _claim(self, provider_id: int) -> Claim | None:
        claim = self._try(
            lambda: services.submit_claim(
                actor=self.provider_members[provider_id],
                provider_id=provider_id,
                programme_id=self.programme.pk,
            )
        )
        if claim is not None:
            self.claims.append(claim)
        return claim

    def _decide(self, claim: Claim, *, approve: bool) -> None:
        if approve:
            decided = self._try(lambda: services.approve_claim(actor=self.admin, claim_id=claim.pk))
        else:
            decided = self._try(
                lambda: services.reject_claim(actor=self.admin, claim_id=claim.pk, reason="不符")
            )
        if decided is not None:
            self.claims[self.claims.index(claim)] = decided

    @precondition(lambda self: self._unclaimed())
    @rule(p=st.integers(0, 1))
    def submit_claim(self, p: int) -> None:
        unclaimed = self._unclaimed()
        provider = self.providers[p]
        self._claim(provider.pk if provider.pk in unclaimed else unclaimed[0])

    @precondition(lambda self: self.claims)
    @rule(c=st.integers(0, 20), approve=st.sampled_from([True, True, False]))
    def decide_claim(self, c: int, approve: bool) -> None:
        # Mostly a claim awaiting review; sometimes one decided already (refused).
        submitted = [claim for claim in self.claims if claim.status == Claim.Status.SUBMITTED]
        self._decide(pick(submitted or self.claims, c), approve=approve)

    @precondition(lambda self: any(c.status == Claim.Status.APPROVED for c in self.claims))
    @rule()
    def batch_and_pay(self) -> None:
        # One batch per quarter: a second attempt in the same example is refused.
        batch = self._try(
            lambda: services.create_batch(
                actor=self.admin, programme_id=self.programme.pk, day=timezone.localdate()
            )
        )
        if batch is not None:
            services.pay_batch(actor=self.admin, batch_id=batch.pk, payment_reference="BANK")
            self.claims = [Claim.objects.get(pk=claim.pk) for claim in self.claims]

    @rule(days=st.sampled_from([0, 10, 20, 31, 400]))
    def expire(self, days: int) -> None:
        services.expire_vouchers(now=timezone.now() + timedelta(days=days))

    @precondition(lambda self: self.vouchers)
    @rule(v=st.integers(0, 20))
    def revoke(self, v: int) -> None:
        voucher = pick(self.vouchers, v)
        self._try(
            lambda: services.revoke_voucher(actor=self.admin, voucher_id=voucher.pk, reason="撤销")
        )

    @precondition(
        lambda self: ledger.programme_account(self.programme, "budget").balance_fen < 1_000 * Y
    )
    @rule(amount=st.integers(1, 2_000))
    def add_budget(self, amount: int) -> None:
        services.add_budget(actor=self.admin, programme_id=self.programme.pk, amount_fen=amount * Y)
        self.funded += amount * Y

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def ledger_is_consistent(self) -> None:
        report = ledger.check()
        assert report.ok, report.problems

    @invariant()
    def money_is_conserved_in_the_programme(self) -> None:
        balances = dict(
            Account.objects.filter(programme=self.programme)
            .values("kind")
            .annotate(total=Sum("balance_fen"))
            .values_list("kind", "total")
        )
        assert balances.get(Account.Kind.FUNDING, 0) == -self.funded
        assert sum(balances.values()) == 0
        assert Programme.objects.get(pk=self.programme.pk).budget_fen == self.funded
        entries = JournalEntry.objects.filter(programme=self.programme)
        assert Posting.objects.filter(entry__in=entries).aggregate(s=Sum("amount_fen"))["s"] == 0
        for voucher in Voucher.objects.filter(programme=self.programme):
            assert 0 <= voucher.balance_fen <= voucher.face_value_fen
            if voucher.status in (Voucher.Status.EXPIRED, Voucher.Status.REVOKED):
                assert voucher.balance_fen == 0

    @invariant()
    def paid_batches_are_fully_paid(self) -> None:
        for batch in SettlementBatch.objects.filter(programme=self.programme, status="paid"):
            assert not batch.claims.exclude(status=Claim.Status.PAID).exists()


@pytest.mark.django_db
def test_random_operation_sequences_keep_the_ledger_consistent() -> None:
    run_state_machine_as_test(
        VoucherLedger,
        settings=settings(
            max_examples=25,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
