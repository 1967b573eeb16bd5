import pytest

from innocommons.accounts import creditcode

VALID = [
    "91350100M000100Y43",
    "91230184MA1BUFLT44",
    "92371000MA3MXH0E3W",
    "91440300708461136T",
    "91110108551385082Q",
]


@pytest.mark.parametrize("code", VALID)
def test_design_examples_pass_the_check(code: str) -> None:
    result = creditcode.check(code)
    assert result.well_formed and result.check_ok


def test_weights_are_powers_of_three_mod_31() -> None:
    assert creditcode.WEIGHTS == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def test_genuine_pilot_code_with_bad_check_character_is_flagged_not_rejected() -> None:
    result = creditcode.check("91350100M0001TGQXM")
    assert result.well_formed
    assert not result.check_ok
    assert result.problem == "check"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("9135010", "length"),
        ("91350100M000100Y431", "length"),
        ("", "length"),
        ("91350100M000100YI3", "charset"),
        ("91350100M00O100Y43", "charset"),
        ("91350100M0001S0Y43", "charset"),
        ("9135010０M000100Y43", "charset"),
    ],
)
def test_wrong_length_or_charset_is_rejected(code: str, problem: str) -> None:
    result = creditcode.check(code)
    assert not result.well_formed
    assert result.problem == problem


def test_lower_case_and_spaces_are_normalised() -> None:
    assert creditcode.check(" 91350100m000100y43 ").check_ok


def test_make_code_builds_valid_codes() -> None:
    code = creditcode.make_code("91", "320500", "ABCD1234")
    assert len(code) == 18
    assert creditcode.check(code).check_ok
