"""What a locked-out sign-in gets (django-axes): the API's JSON error, or a page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    message = _("Too many failed sign-in attempts. Try again in 15 minutes.")
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": message, "errors": [{"field": "password", "message": message}]}, status=429
        )
    return render(request, "web/auth/locked.html", {"message": message}, status=429)
