"""Shared API plumbing: authentication and the single error format."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from innocommons.core.errors import DomainError


class BearerToken(HttpBearer):
    """`Authorization: Bearer ic_…` → the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from innocommons.accounts.services import user_for_token

        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class BrowserSession(SessionAuth):
    """The browser's session cookie, with Django's CSRF check for signed-in users only:
    a request with neither session nor token is "not signed in" (401), not a CSRF error."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        try:
            return super().__call__(request)
        except HttpError as exc:
            raise DomainError(
                _("CSRF check failed: send the X-CSRFToken header with the session cookie."),
                status=403,
            ) from exc


# Endpoints that need a signed-in user accept a bearer token or the browser session (CSRF).
AUTH = [BearerToken(), BrowserSession()]


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
