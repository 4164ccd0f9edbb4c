"""Bad input over the API: every one a 4xx problem+json that says what is wrong, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from referrals.models import Referral
from tests.referrals.api.conftest import ApiClient

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
