"""The API's contract, from its own OpenAPI schema: what the schema says, the server enforces.

Some rules cannot be stated by serializer fields alone: a child is named by id or by first and
last name; a date of birth or an expected one, not both; a reason when consent was refused or
not sought. A post-processing hook writes them into the schema; and every request body is
checked against the schema before anything else, so a body the schema refuses is refused (400)
and one it accepts reaches the same rules the browser's forms apply.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from jsonschema import Draft202012Validator
from rest_framework.exceptions import ValidationError

# Text the server stores: never a NUL (PostgreSQL cannot store it), and a required text not only
# spaces (forms and serializers strip them with str.strip). The spaces are listed, not `\s`:
# what `\s` means differs between JSON Schema's regexes and Python's, str.strip's is this set.
SPACES = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = rf"^[^\x00]*[^\x00{SPACES}][^\x00]*$"

_CONSENT_REASON_RULE = {
    "if": {
        "properties": {"consent": {"enum": ["refused", "not_sought"]}},
        "required": ["consent"],
    },
    "then": {
        "properties": {"consent_reason": {"type": "string", "pattern": NOT_BLANK}},
        "required": ["consent_reason"],
    },
}
_CHILD_RULES = {
    # A child the agency already knows, by id; or who they are.
    "anyOf": [{"required": ["id"]}, {"required": ["first_name", "last_name"]}],
    # A date of birth, or (for an unborn child) the expected date: not both.
    "not": {
        "properties": {
            "date_of_birth": {"type": "string"},
            "expected_date_of_birth": {"type": "string"},
        },
        "required": ["date_of_birth", "expected_date_of_birth"],
    },
}
# Formats beyond JSON Schema's own: the check digits, described for clients' generators.
_FORMATS = {
    "nhs_number": {
        "anyOf": [{"const": ""}, {"format": "nhs-number"}],
        "description": "Ten digits with a valid check digit (spaces allowed), or empty.",
    },
    "upn": {
        "anyOf": [{"const": ""}, {"format": "upn"}],
        "description": "A unique pupil number with a valid check letter, or empty.",
    },
}


def schema_rules(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the cross-field rules, stated in the schema."""
    schemas = result.get("components", {}).get("schemas", {})
    if "ReferralCreateRequest" in schemas:
        schemas["ReferralCreateRequest"]["allOf"] = [_CONSENT_REASON_RULE]
    search = schemas.get("ReferralSearchRequest")
    if search is not None:
        search["properties"]["nhs_number"]["format"] = "nhs-number"
    child = schemas.get("ChildInputRequest")
    if child is not None:
        child.update(_CHILD_RULES)
        for name, rule in _FORMATS.items():
            child["properties"][name].update(rule)
    return result


# A worker's threads all ask for the schema with their first requests, and generating it is
# not thread-safe (drf-spectacular loads its extensions as it goes: a 500 for some of them).
_DOCUMENT_LOCK = threading.Lock()


def _document() -> dict[str, Any]:
    with _DOCUMENT_LOCK:
        return _generated_document()


@functools.cache
def _generated_document() -> dict[str, Any]:
    # Inside: generating the schema reads the URL patterns, which import the views.
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()  # type: ignore[no-untyped-call]
    schema: dict[str, Any] = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    return schema


@functools.cache
def _validator(component: str) -> Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{component}", "components": _document()["components"]}
    return Draft202012Validator(root)


def _message(rule: str, limit: Any) -> str:
    """The broken rule in plain words; never the value (a message must not quote what was sent)."""
    if rule == "maxLength":
        return f"Ensure this field has no more than {limit} characters."
    if rule == "required":
        return "This field is required."
    if rule == "pattern":
        return "Enter some text, without null characters."
    return f"This does not meet the API's {rule} rule (see /api/docs/)."


def body_check(component: str, data: Any) -> None:
    """Refuse (400, each place named) a request body its schema component does not allow."""
    errors: dict[str, list[str]] = {}
    for error in _validator(component).iter_errors(data):
        where = ".".join(str(part) for part in error.absolute_path) or "non_field_errors"
        errors.setdefault(where, []).append(_message(error.validator, error.validator_value))
    if errors:
        raise ValidationError(errors)
