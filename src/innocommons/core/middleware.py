"""Request hygiene shared by the web UI and the API."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TEXT_BODIES = {"application/json", "application/x-www-form-urlencoded", "text/plain"}


class RejectNulMiddleware:
    """NUL characters can never be stored (PostgreSQL refuses them). In query strings they
    are removed, so searches still answer; in request bodies the request is refused with a
    clear 400 before any code tries to store them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get(
            "QUERY_STRING", ""
        ):
            cleaned = request.GET.copy()
            for key in list(cleaned):
                cleaned.setlist(key, [v.replace("\x00", "") for v in cleaned.getlist(key)])
            cleaned._mutable = False
            request.GET = cleaned  # type: ignore[assignment]
        # Text bodies only: uploaded files (multipart) may contain any byte.
        if request.method in WRITE_METHODS and request.content_type in TEXT_BODIES:
            body = request.body
            if b"\x00" in body or b"\\u0000" in body or b"%00" in body:
                message = _("The request contains a NUL character, which is not allowed.")
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": message, "errors": []}, status=400)
                return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
