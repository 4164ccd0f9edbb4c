from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_reports_the_database_and_a_missing_broker(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "error"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_reports_a_running_broker(client: Client, redis_proc: Any) -> None:
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
