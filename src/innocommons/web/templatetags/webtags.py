"""Small template helpers, registered as builtins in settings."""

from __future__ import annotations

from typing import Any

from django import template

from innocommons.core.money import format_yuan

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def split(value: str) -> list[str]:
    return value.split()


@register.filter
def yuan(fen: int | None) -> str:
    return format_yuan(fen)
