"""The JSON API under /api/v1/: one NinjaAPI mounting each app's router, one error format."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from innocommons.accounts.api import router as accounts_router
from innocommons.catalog.api import router as catalog_router
from innocommons.core.api import router as core_router
from innocommons.core.apiutils import error_body
from innocommons.core.errors import DomainError
from innocommons.insights.api import router as insights_router
from innocommons.market.api import router as market_router
from innocommons.orders.api import router as orders_router
from innocommons.vouchers.api import router as vouchers_router

api = NinjaAPI(
    title="InnoCommons API",
    version="1",
    description=(
        "Catalog, search, organisations and regions of the InnoCommons platform. "
        "Authenticate with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`. "
        'Errors: `{"detail": "…", "errors": [{"field": "…", "message": "…"}]}` with a 4xx.'
    ),
    urls_namespace="api",
)
api.add_router("", core_router)
api.add_router("", accounts_router)
api.add_router("", catalog_router)
api.add_router("", orders_router)
api.add_router("", vouchers_router)
api.add_router("", market_router)
api.add_router("", insights_router)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(
        request, error_body(str(exc.message), exc.errors()), status=exc.status
    )


def _loc_to_field(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _loc_to_field(list(e.get("loc", []))), "message": str(e.get("msg", ""))}
        for e in exc.errors
    ]
    return api.create_response(request, error_body(_("Invalid request data."), errors), status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body(_("Sign-in or a valid API token is required.")), status=401
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body(_("Not found.")), status=404)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body(str(exc)), status=exc.status_code)
