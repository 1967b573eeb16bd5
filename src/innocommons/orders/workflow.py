"""The order state machine as data: which step leads from which states to which, and which
side (the client's or the provider's members) may take it.

Services look steps up here instead of scattering `if status == …` checks, and the order
page derives "who acts next" from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from innocommons.orders.models import Order

CLIENT = "client"
PROVIDER = "provider"
SIDES = frozenset({CLIENT, PROVIDER})

S = Order.Status


@dataclass(frozen=True)
class Step:
    """One thing a party can do to an order.

    `target` None means the step records something without changing the status (invoice,
    rating). `forward` marks the steps that move the order on (not cancel/decline), used to
    tell who acts next. `reason_from` lists the sides that must give a reason.
    """

    name: str
    label: Promise
    sources: frozenset[str]
    target: str | None
    sides: frozenset[str]
    forward: bool = True
    reason_from: frozenset[str] = frozenset()
    irreversible: bool = False

    @property
    def danger(self) -> bool:
        """Steps that end the order unfinished (shown in red, confirmed first)."""
        return self.target in (S.DECLINED, S.CANCELLED)


def _step(
    name: str,
    label: Promise,
    sources: set[str],
    target: str | None,
    sides: set[str],
    **kw: object,
) -> Step:
    return Step(name, label, frozenset(sources), target, frozenset(sides), **kw)  # type: ignore[arg-type]


STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        # A provider may revise its quote until the client accepts it.
        _step("quote", _("Send quote"), {S.REQUESTED, S.QUOTED}, S.QUOTED, {PROVIDER}),
        _step("accept", _("Accept quote"), {S.QUOTED}, S.ACCEPTED, {CLIENT}),
        _step(
            "decline",
            _("Decline order"),
            {S.REQUESTED, S.QUOTED},
            S.DECLINED,
            {PROVIDER},
            forward=False,
            reason_from=frozenset({PROVIDER}),
            irreversible=True,
        ),
        _step("start", _("Start work"), {S.ACCEPTED}, S.IN_PROGRESS, {PROVIDER}),
        _step("deliver", _("Deliver report"), {S.IN_PROGRESS}, S.DELIVERED, {PROVIDER}),
        _step(
            "complete",
            _("Confirm completion"),
            {S.DELIVERED},
            S.COMPLETED,
            {CLIENT},
            irreversible=True,
        ),
        _step("close", _("Close order"), {S.COMPLETED}, S.CLOSED, {CLIENT, PROVIDER}),
        # Once work has started, the order can no longer be cancelled by either side.
        _step(
            "cancel",
            _("Cancel order"),
            {S.REQUESTED, S.QUOTED, S.ACCEPTED},
            S.CANCELLED,
            {CLIENT, PROVIDER},
            forward=False,
            reason_from=frozenset({PROVIDER}),
            irreversible=True,
        ),
        _step(
            "invoice",
            _("Record invoice number"),
            {S.COMPLETED, S.CLOSED},
            None,
            {PROVIDER},
            forward=False,
        ),
        _step("rate", _("Rate"), {S.COMPLETED, S.CLOSED}, None, {CLIENT}, forward=False),
    ]
}

# The main path, for the progress bar on the order page.
PATH = [S.REQUESTED, S.QUOTED, S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED, S.COMPLETED, S.CLOSED]
FINAL = frozenset({S.CLOSED, S.DECLINED, S.CANCELLED})


def steps_from(status: str) -> list[Step]:
    return [s for s in STEPS.values() if status in s.sources]


def next_sides(status: str) -> frozenset[str]:
    """The side(s) whose move it is: those of the forward steps possible from `status`
    (a revised quote does not count: after a quote it is the client's move)."""
    sides: set[str] = set()
    for step in steps_from(status):
        if _moves_on(step, status):
            sides |= step.sides
    return frozenset(sides)


def available(status: str, sides: set[str] | frozenset[str]) -> list[Step]:
    """Steps a person acting for `sides` may take now."""
    return [s for s in steps_from(status) if s.sides & sides]


def next_step(status: str, side: str) -> Step | None:
    """The step that moves the order on, if it is `side`'s move."""
    for step in steps_from(status):
        if _moves_on(step, status) and side in step.sides:
            return step
    return None


def _moves_on(step: Step, status: str) -> bool:
    return step.forward and step.target is not None and step.target != status
