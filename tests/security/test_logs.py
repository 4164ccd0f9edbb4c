"""Logs are JSON lines with a request id and never carry a child's personal data."""

from __future__ import annotations

import datetime
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from referrals.casework.partners import api_client_create
from referrals.clocks.tasks import referral_escalations_sweep_task
from referrals.models import Referral
from referrals.outbox.tasks import notifications_relay_task
from safeguarding.logging import JsonFormatter, RequestIdFilter
from tests.conftest import signed_in
from tests.referrals.api.conftest import ApiClient, issue_token

DISTINCTIVE = "Quillonbrae"
GIVEN = "Zephyrine"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged anywhere (root, django.request, axes, celery), as production writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = logging.getLogger("django.db.backends")
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        quiet.setLevel(logging.WARNING)


def test_a_childs_name_appears_in_no_log_line(
    log_lines: io.StringIO, world: Any, social_worker: Any, team_manager: Any
) -> None:
    cache.clear()
    application, secret = api_client_create(agency=world.police, name="Police system")
    police = ApiClient(
        issue_token(application.client_id, secret, "referrals:read referrals:write"), None
    )
    body: dict[str, Any] = {
        "child": {"first_name": GIVEN, "last_name": DISTINCTIVE, "date_of_birth": "2013-04-02"},
        "urgency": "urgent",
        "category": "physical",
        "factors": [],
        "reason": f"{GIVEN} {DISTINCTIVE} told the officer about bruising.",
        "consent": "given",
        "parents_aware": "yes",
        "referrer_name": "PC Olive Officer",
        "referrer_phone": "01632 960555",
        "referrer_email": "olive.officer@police.example",
        "desired_outcome": f"Safety for {DISTINCTIVE}.",
    }
    # Submission over the API, and a refused one with the name in it (400, logged by Django).
    submitted = police.post("/api/v1/referrals/", body)
    assert submitted.status_code == 201, submitted.content
    bad = police.post(
        "/api/v1/referrals/", {**body, "child": {**body["child"], "date_of_birth": DISTINCTIVE}}
    )
    assert bad.status_code == 400
    referral = Referral.objects.get(pk=submitted.json()["id"])
    assert police.get(f"/api/v1/referrals/{referral.pk}/").status_code == 200
    assert police.get("/api/v1/children/").status_code == 200
    # Triage in the browser: read, acknowledge; a 404 and a 403 on the way.
    worker = signed_in(Client(), social_worker)
    assert worker.get(f"/referrals/{referral.pk}/").status_code == 200
    assert worker.get(f"/children/{referral.child_id}/").status_code == 200
    assert worker.get("/referrals/999999/").status_code == 404
    assert worker.get("/dashboard/").status_code == 403
    assert worker.post(f"/referrals/{referral.pk}/acknowledge/").status_code == 302
    # Escalation: the decision clock runs out, the sweep and the relay run in-process.
    referral.refresh_from_db()
    with time_machine.travel(
        (referral.decision_due_at or timezone.now()) + datetime.timedelta(hours=3), tick=False
    ):
        referral_escalations_sweep_task.apply()
        notifications_relay_task.apply()
    referral.refresh_from_db()
    assert referral.escalation_level >= 1
    # A failure at sign-in (axes logs it) with the name typed as an address.
    Client().post("/accounts/login/", {"username": f"{DISTINCTIVE}@x.test", "password": "x"})

    lines = [line for line in log_lines.getvalue().splitlines() if line]
    assert len(lines) > 5  # the capture works: the test could fail
    for line in lines:
        entry = json.loads(line)
        assert entry["request_id"]
        assert DISTINCTIVE.lower() not in line.lower(), line
        assert GIVEN.lower() not in line.lower(), line
    assert any(json.loads(line)["logger"] == "django.request" for line in lines)
