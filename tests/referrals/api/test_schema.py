"""schemathesis over the whole OpenAPI schema, in-process and authenticated.

No operation may answer 5xx, break its own schema, or answer without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import ignored_auth, not_a_server_error, response_schema_conformance

from tests.referrals.api.conftest import ApiClient


@pytest.fixture
def api_schema(seeded: ApiClient) -> Iterator[Any]:
    """The schema, served by the project's own WSGI application inside the test transaction.

    After `seeded`: Django's test client reconnects the signal below after each of its requests.
    """
    from safeguarding.wsgi import application

    # As Django's test client does: keep the test's connection (and transaction) open across
    # requests instead of closing it when each request finishes.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_api_keeps_its_contract(seeded: ApiClient, api_schema: Any, settings: Any) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9, so each operation gets a
    # Hypothesis test of its own here, with the same strategies and checks.
    settings.API_THROTTLE_RATE = "100000/min"
    headers = {"Authorization": f"Bearer {seeded.token}"}
    tested = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=headers,
                checks=[not_a_server_error, response_schema_conformance, ignored_auth],
            )

        check()
        tested.append(operation.label)
    assert len(tested) == 8


def test_the_schema_lists_every_operation(client: Any) -> None:
    document = client.get("/api/schema/", headers={"Accept": "application/json"}).json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post"}
    }
    assert operations == {
        ("GET", "/api/v1/referrals/"),
        ("POST", "/api/v1/referrals/"),
        ("GET", "/api/v1/referrals/{id}/"),
        ("POST", "/api/v1/referrals/search/"),
        ("POST", "/api/v1/referrals/{id}/receipt/"),
        ("GET", "/api/v1/children/"),
        ("GET", "/api/v1/children/{id}/"),
        ("GET", "/api/v1/agencies/"),
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("security"), (method, path)
            assert operation.get("summary"), (method, path)
            contents = [
                *operation.get("requestBody", {}).get("content", {}).values(),
                *(
                    content
                    for response in operation["responses"].values()
                    for content in response.get("content", {}).values()
                ),
            ]
            assert any(content.get("examples") for content in contents), (method, path)
