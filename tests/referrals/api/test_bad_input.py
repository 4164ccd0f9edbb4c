"""Bad input over the API: every one a 4xx problem+json that says what is wrong, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from referrals.models import Referral
from tests.referrals.api.conftest import ApiClient
from tests.referrals.api.test_referrals import NEW_REFERRAL

PROBLEM = "application/problem+json"


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_json_nested_too_deep_is_refused(police_api: ApiClient) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = police_api.client.post(
        "/api/v1/referrals/",
        deep,
        content_type="application/json",
        headers={"Authorization": f"Bearer {police_api.token}"},
    )
    body = _is_problem(response, 400)
    assert "nested" in body["detail"]
    assert not Referral.objects.exists()


def test_a_body_too_large_is_refused(police_api: ApiClient) -> None:
    huge = '{"reason": "' + "x" * (20 * 1024 * 1024) + '"}'
    response = police_api.client.post(
        "/api/v1/referrals/",
        huge,
        content_type="application/json",
        headers={"Authorization": f"Bearer {police_api.token}"},
    )
    _is_problem(response, 413)
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"team": str(2**63)},
        {"team": "-1"},
        {"team": "1.5"},
        {"status": ""},
        {"status": "lost"},
        {"urgency": "soon"},
        {"page_size": "0"},
        {"page_size": "501"},
    ],
)
def test_a_bad_filter_is_refused(northshire_api: ApiClient, query: dict[str, str]) -> None:
    body = _is_problem(northshire_api.get("/api/v1/referrals/", query), 400)
    assert set(body["errors"]) == set(query)


@pytest.mark.parametrize(
    "path", ["/api/v1/referrals/abc/", "/api/v1/children/abc/", "/api/v1/nothing/"]
)
def test_an_unknown_address_under_the_api_is_a_problem_not_a_page(
    northshire_api: ApiClient, path: str
) -> None:
    _is_problem(northshire_api.get(path), 404)


def test_the_schema_is_enforced_to_the_letter(police_api: ApiClient) -> None:
    # The serializer strips spaces before it counts; the schema counts what was sent.
    body = {**NEW_REFERRAL, "referrer_name": "P" * 200 + " "}
    response = police_api.post("/api/v1/referrals/", body)
    problem = _is_problem(response, 400)
    assert problem["errors"] == {
        "referrer_name": ["Ensure this field has no more than 200 characters."]
    }
    # A child named neither by id nor by name, and with both kinds of date.
    both_dates = {"date_of_birth": "2012-11-30", "expected_date_of_birth": "2027-01-01"}
    for child in ({}, {"first_name": "Cara", "last_name": "Specimen", **both_dates}):
        response = police_api.post("/api/v1/referrals/", {**NEW_REFERRAL, "child": child})
        assert "child" in _is_problem(response, 400)["errors"]
    assert not Referral.objects.exists()


def test_feed_cursors_are_numbers_and_old_ones_still_work(northshire_api: ApiClient) -> None:
    first = northshire_api.get("/api/v1/referrals/", {"page_size": 1}).json()["next_cursor"]
    assert first.replace(".", "").isdigit()
    assert northshire_api.get("/api/v1/referrals/", {"cursor": first}).status_code == 200
    old = "MjAyNi0xMS0yM1QxNDowMDowMCswMDowMHw0MQ"  # handed out before cursors were numbers
    assert northshire_api.get("/api/v1/referrals/", {"cursor": old}).status_code == 200
    _is_problem(northshire_api.get("/api/v1/referrals/", {"cursor": "abc"}), 400)
