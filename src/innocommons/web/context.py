"""Template context every page gets (settings.TEMPLATES context_processors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from innocommons.core.notify import unread


def inbox(request: HttpRequest) -> dict[str, Any]:
    """The unread notification count for the top bar, counted only if a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: unread(user).count())}
