"""Unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters from a 31-character set (no I, O, S, V, Z); the 18th is a check character.
A wrong length or character set is invalid; a wrong check character is only *flagged*,
because some genuine codes from early pilot areas fail the check (DESIGN §6).
"""

from __future__ import annotations

from dataclasses import dataclass

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, ...
LENGTH = 18


@dataclass(frozen=True)
class CreditCodeCheck:
    code: str
    well_formed: bool
    check_ok: bool
    problem: str = ""


def normalise(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "")


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    value = 31 - total % 31
    return CHARSET[0 if value == 31 else value]


def check(code: str) -> CreditCodeCheck:
    """Validate a code. `well_formed` False means reject; `check_ok` False means flag."""
    code = normalise(code)
    if len(code) != LENGTH:
        return CreditCodeCheck(code, False, False, "length")
    if any(ch not in CHARSET for ch in code):
        return CreditCodeCheck(code, False, False, "charset")
    ok = check_character(code[:17]) == code[17]
    return CreditCodeCheck(code, True, ok, "" if ok else "check")


def make_code(prefix2: str, division: str, org_code8: str) -> str:
    """Build a valid code from its parts (used by demo data and tests)."""
    body = f"{prefix2}{division}{org_code8}"
    if len(body) != 16:
        raise ValueError("prefix2 + division + org_code8 must be 16 characters")
    # The 9-digit organisation code has its own check digit; any charset character works here.
    body = body + CHARSET[sum(CHARSET.index(c) for c in body) % 10]
    return body + check_character(body)
