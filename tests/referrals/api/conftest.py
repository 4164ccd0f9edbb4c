"""Agency systems signed in with OAuth2 client credentials, through the real token endpoint."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from referrals.casework.partners import api_client_create
from tests import factories
from tests.conftest import World


class ApiClient:
    """A test client that sends the Bearer token of one agency's system."""

    def __init__(self, token: str, account: Any) -> None:
        self.client = Client()
        self.token = token
        self.account = account

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {}, headers=self._headers(None))

    def post(self, path: str, data: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            path, data or {}, content_type="application/json", headers=self._headers(headers)
        )


def issue_token(client_id: str, secret: str, scope: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


@pytest.fixture
def agency_client(db: None) -> Callable[..., ApiClient]:
    def make(agency: Any, scope: str = "referrals:read referrals:write") -> ApiClient:
        application, secret = api_client_create(agency=agency, name=f"{agency.name} system")
        return ApiClient(issue_token(application.client_id, secret, scope), application.user)

    return make


@pytest.fixture
def police_api(world: World, agency_client: Callable[..., ApiClient]) -> ApiClient:
    return agency_client(world.police)


@pytest.fixture
def southvale_api(world: World, agency_client: Callable[..., ApiClient]) -> ApiClient:
    return agency_client(world.south_csc)


@pytest.fixture
def northshire_api(world: World, agency_client: Callable[..., ApiClient]) -> ApiClient:
    return agency_client(world.north_csc)


@pytest.fixture
def seeded(world: World, northshire_api: ApiClient) -> ApiClient:
    """Some referrals and children for the reads to find."""
    for _ in range(3):
        factories.SubmittedReferralFactory.create(
            referring_agency=world.riverside,
            child__created_by_agency=world.riverside,
            team=world.front_door,
        )
    cache.clear()
    return northshire_api
