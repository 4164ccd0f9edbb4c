"""Check digits for the identifiers that find a child: NHS number and UPN."""

from __future__ import annotations

from django.core.exceptions import ValidationError

NHS_NUMBER_INVALID = "Enter a valid 10-digit NHS number (the last digit is a check digit)."
UPN_INVALID = "Enter a valid 13-character UPN (a check letter followed by 12 characters)."

# DfE's check-letter alphabet: no I, O or S.
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def normalise_nhs_number(value: str) -> str:
    return "".join(value.split()).replace("-", "")


def nhs_number_is_valid(value: str) -> bool:
    """Modulus 11, weights 10 to 2 over the first nine digits."""
    digits = normalise_nhs_number(value)
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def validate_nhs_number(value: str) -> None:
    if not nhs_number_is_valid(value):
        raise ValidationError(NHS_NUMBER_INVALID, code="nhs_number")


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (DfE Common Basic Data Set)."""
    total = 0
    for position, char in enumerate(body, start=2):
        if char.isdigit():
            value = int(char)
        elif position == 13 and char in _UPN_LETTERS:
            # A temporary UPN ends in a letter, valued by its place in the alphabet above.
            value = _UPN_LETTERS.index(char)
        else:
            raise ValueError("not a UPN body")
        total += value * position
    return _UPN_LETTERS[total % 23]


def upn_is_valid(value: str) -> bool:
    upn = value.strip().upper()
    if len(upn) != 13:
        return False
    try:
        return upn_check_letter(upn[1:]) == upn[0]
    except ValueError:
        return False


def validate_upn(value: str) -> None:
    if not upn_is_valid(value):
        raise ValidationError(UPN_INVALID, code="upn")
