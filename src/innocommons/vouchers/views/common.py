"""Helpers the vouchers pages share: reading through a selector, paging, the staff gate,
which organisations may apply, the confirmation step before a decision about money, and
the queue filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from innocommons.accounts import permissions as perms
from innocommons.accounts.models import Organisation
from innocommons.core.errors import DomainError
from innocommons.vouchers import selectors
from innocommons.vouchers.models import Programme
from innocommons.vouchers.permissions import sees_everything
from innocommons.vouchers.services.programmes import eligibility_problem

PER_PAGE = 20


def to_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a selector; "not found" is a 404 page and "forbidden" a 403 page."""
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from None
        raise Http404(str(exc.message)) from None


def paginate(request: HttpRequest, qs: Any, param: str = "page") -> Page:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get(param))


def staff_or_404(user: Any) -> None:
    """The back-office pages: regional administrators, auditors and operators."""
    if not (perms.admin_regions(user) or sees_everything(user)):
        raise Http404


def eligibility_of(
    programmes: list[Programme], orgs: list[Organisation]
) -> dict[int, list[tuple[Organisation, str | None]]]:
    return {p.pk: [(o, eligibility_problem(p, o)) for o in orgs] for p in programmes}


def confirm_page(
    request: HttpRequest,
    *,
    form: Any,
    title: str,
    action: str,
    cancel: str,
    facts: list[tuple[str, Any]],
    confirm_label: str,
    danger: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The confirmation step before a decision about money: what will happen, the form
    (editable, with any errors), and one button that does it."""
    return render(
        request,
        "vouchers/confirm.html",
        {
            "form": form,
            "title": title,
            "action": action,
            "cancel": cancel,
            "facts": facts,
            "confirm_label": confirm_label,
            "danger": danger,
            **(extra or {}),
        },
    )


def queue_filters(request: HttpRequest, user: Any, default_status: str) -> dict[str, Any]:
    status = request.GET.get("status", default_status)
    programme_id = to_int(request.GET.get("programme")) or None
    programme = None
    if programme_id is not None:
        programme = read(selectors.programme_books, user, programme_id)
    query = {"status": status}
    if programme_id:
        query["programme"] = str(programme_id)
    return {
        "status": status,
        "programme": programme,
        "programme_id": programme_id,
        "extra": urlencode(query),
    }
