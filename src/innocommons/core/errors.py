"""The one domain error type: services raise it, views and the API turn it into a 4xx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A user's request broke a rule. `field` names the offending input, if any.

    `status` is the HTTP status the edge should answer with: 400 for invalid input,
    403 for a missing permission, 404 for something the user may not see, 409 for a
    conflict with the current state.
    """

    def __init__(self, message: str | Promise, *, field: str | None = None, status: int = 400):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.status = status

    def errors(self) -> list[dict[str, str]]:
        return [{"field": self.field or "__all__", "message": str(self.message)}]


class PermissionDenied(DomainError):
    def __init__(self, message: str | Promise, *, field: str | None = None):
        super().__init__(message, field=field, status=403)


class NotFound(DomainError):
    def __init__(self, message: str | Promise, *, field: str | None = None):
        super().__init__(message, field=field, status=404)


class ValidationFailed(DomainError):
    """Several fields are wrong at once (a form or an API payload)."""

    def __init__(self, errors: list[dict[str, str]]):
        first = errors[0]["message"] if errors else "invalid input"
        super().__init__(first, field=errors[0]["field"] if errors else None)
        self._errors = errors

    def errors(self) -> list[dict[str, str]]:
        return self._errors

    @classmethod
    def from_form_errors(cls, form_errors: Mapping[str, Any]) -> ValidationFailed:
        return cls(
            [
                {"field": name, "message": str(message)}
                for name, messages in form_errors.items()
                for message in messages
            ]
        )
