"""Amounts in the units of Chinese statistics: 万元 (10k yuan) and 亿元 (100 million yuan).

Money stays integer fen until it is shown; these helpers turn fen into exact Decimals in
a unit, round half up for display, and put the unit into words with gettext (named
placeholders, so the Chinese sentence can order the words its own way).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

FEN_PER_YUAN = 100
FEN_PER_WAN = 1_000_000  # 10,000 yuan
FEN_PER_YI = 10_000_000_000  # 100,000,000 yuan
UNITS = {"yuan": FEN_PER_YUAN, "wan": FEN_PER_WAN, "yi": FEN_PER_YI}


def in_unit(fen: int, unit: str) -> Decimal:
    """The exact amount in `unit` ("yuan", "wan" or "yi")."""
    return Decimal(int(fen)) / Decimal(UNITS[unit])


def rounded(fen: int, unit: str, places: int = 2) -> Decimal:
    """The amount in `unit`, rounded half up to `places` decimals."""
    return in_unit(fen, unit).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def rounded_decimal(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number(value: Decimal | int | float, places: int = 2) -> str:
    """1863.4512 → "1,863.45" (thousands grouped, `places` decimals, half up)."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # no "-0.00"
    return f"{q:,.{places}f}" if places else f"{q:,.0f}"


def auto_unit(fen: int) -> str:
    """亿元 from 100 million yuan up, else 万元."""
    return "yi" if abs(fen) >= FEN_PER_YI else "wan"


def unit_label(unit: str) -> str:
    """The unit as a column header says it."""
    return {
        "yuan": _("yuan"),
        "wan": _("10k yuan"),
        "yi": _("100 million yuan"),
    }[unit]


def amount(fen: int, unit: str = "wan", places: int = 2) -> str:
    """The number only, in `unit`: 18_634_500_000_000 fen, "yi" → "1,863.45"."""
    return number(rounded(fen, unit, places), places)


def amount_with_unit(fen: int, unit: str | None = None, places: int = 2) -> str:
    """The amount in words for sentences: "1,863.45 hundred million yuan" / "1,863.45亿元"."""
    unit = unit or auto_unit(fen)
    value = amount(fen, unit, places)
    if unit == "yi":
        return _("%(amount)s hundred million yuan") % {"amount": value}
    if unit == "wan":
        return _("%(amount)s ten thousand yuan") % {"amount": value}
    return _("%(amount)s yuan") % {"amount": value}


def share(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage (exact), None when whole is zero."""
    if not whole:
        return None
    return Decimal(part) * 100 / Decimal(whole)


def percent(part: int, whole: int, places: int = 2) -> str:
    """ "13.96%"; "–" when whole is zero."""
    value = share(part, whole)
    if value is None:
        return "–"
    return f"{number(value, places)}%"


def change(current: int, previous: int, places: int = 1) -> str:
    """Year-on-year change: "+12.5%", "-3.0%"; "–" without a previous value."""
    value = share(current - previous, previous)
    if value is None:
        return "–"
    sign = "+" if value > 0 else ""
    return f"{sign}{number(value, places)}%"
