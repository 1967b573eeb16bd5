"""Money is integer fen. These helpers convert at the edges, never with floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def yuan_to_fen(value: str | int | Decimal) -> int:
    """Parse a yuan amount ("1234.5", "1,234.50", 12) into fen; raise ValueError if invalid."""
    text = str(value).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    fen = (amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_yuan(fen: int | None) -> str:
    """ "¥12,345.60"; None stays empty so templates can show "on quote" instead."""
    if fen is None:
        return ""
    return f"¥{fen_to_yuan(fen):,.2f}"
