"""What the vouchers API's routers share: the router class and pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Router
from ninja.params.functions import Query

PAGE = Query(1, ge=1, le=10_000)
PAGE_SIZE = Query(20, ge=1, le=100)


class VouchersRouter(Router):
    """A sub-router of the vouchers API.

    Its operations keep the OpenAPI operationIds they had when the API was one module
    (`innocommons_vouchers_api_<function>`), so clients generated from the schema do not
    change with the file layout.
    """

    def add_api_operation(
        self, path: str, methods: list[str], view_func: Callable[..., Any], **kwargs: Any
    ) -> None:
        kwargs["operation_id"] = (
            kwargs.get("operation_id") or f"innocommons_vouchers_api_{view_func.__name__}"
        )
        super().add_api_operation(path, methods, view_func, **kwargs)


def paginate(qs: QuerySet[Any], page: int, page_size: int) -> tuple[int, list[Any]]:
    total = qs.count()
    return total, list(qs[(page - 1) * page_size : page * page_size])
