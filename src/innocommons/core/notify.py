"""Notifications: an in-app inbox row per user, and an e-mail sent after the commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from innocommons.core.models import Notification

log = logging.getLogger(__name__)


def notify(
    users: Iterable[Any], *, kind: str, title: str, body: str = "", link: str = ""
) -> list[Notification]:
    """Put a message in each user's inbox and mail those with an address (on commit)."""
    recipients = {u.pk: u for u in users if u is not None}.values()
    rows = Notification.objects.bulk_create(
        [
            Notification(user=u, kind=kind, title=title[:200], body=body[:5000], link=link[:300])
            for u in recipients
        ]
    )
    mails = [
        (title[:200], f"{body}\n\n{link}".strip(), settings.DEFAULT_FROM_EMAIL, [u.email])
        for u in recipients
        if getattr(u, "email", "")
    ]
    if mails:

        def send() -> None:
            try:
                send_mass_mail(mails, fail_silently=False)
            except Exception:  # the inbox row exists; a mail outage must not break the action
                log.exception("notification e-mail failed (%d message(s))", len(mails))

        transaction.on_commit(send)
    return rows


def unread(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, read_at__isnull=True)


def mark_read(user: Any, ids: Iterable[int] | None = None) -> int:
    rows = unread(user)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
