"""Voucher codes: 80 random bits in Crockford base32 plus a Luhn mod 32 check character.

The check character catches every single mistyped character and most swaps of two
neighbours, so a typo is reported as "not a valid voucher code" before any lookup.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
BODY_LENGTH = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(body: str) -> str:
    """Luhn mod N over the alphabet (N = 32)."""
    n = len(ALPHABET)
    total = 0
    factor = 2
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def normalise(text: str) -> str:
    """What the user typed → the stored form: upper case, no spaces or dashes."""
    return "".join(text.split()).replace("-", "").upper().translate(_READ_AS)[:40]


def is_valid(code: str) -> bool:
    if len(code) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in code):
        return False
    return check_character(code[:-1]) == code[-1]


def display(code: str) -> str:
    """ "ABCD-EFGH-JKMN-PQRS-T" for people to read aloud and type."""
    return "-".join(code[i : i + 4] for i in range(0, BODY_LENGTH, 4)) + "-" + code[BODY_LENGTH:]
