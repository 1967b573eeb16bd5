"""Schemas the vouchers API's sub-domains share: where a case stands, and a reason."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from innocommons.vouchers import selectors


class ProgressOut(Schema):
    """Where a case stands (DESIGN §9): its stage, who acts next, since when."""

    stage: str
    next_actor: str
    since: datetime | None
    expected: str
    done: bool


def progress_out(p: selectors.Progress) -> ProgressOut:
    return ProgressOut(
        stage=p.stage, next_actor=p.next_actor, since=p.since, expected=p.expected, done=p.done
    )


class ReasonIn(Schema):
    reason: str = Field(max_length=2000)
