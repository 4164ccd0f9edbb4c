from __future__ import annotations

import pytest

from referrals.core.validators import nhs_number_is_valid, upn_check_letter, upn_is_valid


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "4010232137"])
def test_valid_nhs_numbers(value: str) -> None:
    assert nhs_number_is_valid(value)


@pytest.mark.parametrize(
    "value", ["9434765918", "943476591", "94347659199", "abcdefghij", "", "4010232138"]
)
def test_invalid_nhs_numbers(value: str) -> None:
    assert not nhs_number_is_valid(value)


def test_upn_check_letter_matches_the_dfe_algorithm() -> None:
    # Weights 2..13 over the 12 characters, modulo 23, into the alphabet without I, O and S.
    body = "801200001001"
    total = sum(int(c) * w for c, w in zip(body, range(2, 14), strict=True))
    assert upn_check_letter(body) == "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23]
    assert upn_is_valid(upn_check_letter(body) + body)


def test_a_upn_with_the_wrong_check_letter_is_refused() -> None:
    body = "801200001001"
    wrong = "A" if upn_check_letter(body) != "A" else "B"
    assert not upn_is_valid(wrong + body)
    assert not upn_is_valid("X12")
