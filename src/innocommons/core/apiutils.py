"""Shared API plumbing: authentication and the single error format."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, django_auth

from innocommons.core.errors import DomainError


class BearerToken(HttpBearer):
    """`Authorization: Bearer ic_…` → the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from innocommons.accounts.services import user_for_token

        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


# Endpoints that need a signed-in user accept a bearer token or the browser session (CSRF).
AUTH = [BearerToken(), django_auth]


def current_user(request: HttpRequest) -> Any:
    """The user on a public endpoint: a valid bearer token, else the session, else anonymous.
    An invalid bearer token is an error (401), never silently anonymous."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        from innocommons.accounts.services import user_for_token

        user = user_for_token(header[7:].strip())
        if user is None:
            raise DomainError(
                _("The token is invalid or has expired."), field="Authorization", status=401
            )
        request.user = user
        return user
    return request.user


def error_body(detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}
