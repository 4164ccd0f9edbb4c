"""The agencies' API: scoping, submission, idempotency, problems, audit and query counts."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from referrals.casework.sharing import referral_share
from referrals.casework.triage import referral_decide
from referrals.models import AuditAction, AuditEvent, Referral
from tests import factories
from tests.conftest import World
from tests.referrals.api.conftest import ApiClient

NEW_REFERRAL: dict[str, Any] = {
    "child": {
        "first_name": "Cara",
        "last_name": "Specimen",
        "date_of_birth": "2012-11-30",
        "sex": "female",
        "nhs_number": "943 476 5919",
    },
    "urgency": "urgent",
    "category": "physical",
    "factors": ["domestic_abuse"],
    "reason": "Officers attended a domestic incident; the child was present.",
    "consent": "not_sought",
    "consent_reason": "Seeking consent could put the child at risk.",
    "parents_aware": "no",
    "referrer_name": "PC Olive Officer",
    "referrer_phone": "01632 960555",
    "referrer_email": "olive.officer@police.example",
    "desired_outcome": "A strategy discussion with police.",
}


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def _northshire_referrals(world: World, count: int) -> list[Referral]:
    return [
        factories.SubmittedReferralFactory.create(
            referring_agency=world.riverside,
            child__created_by_agency=world.riverside,
            team=world.front_door,
        )
        for _ in range(count)
    ]


def test_a_police_system_submits_and_the_front_door_receives_it(
    police_api: ApiClient, world: World, social_worker: Any
) -> None:
    response = police_api.post("/api/v1/referrals/", NEW_REFERRAL)
    assert response.status_code == 201, response.json()
    body = response.json()
    referral = Referral.objects.get(pk=body["id"])
    assert referral.status == Referral.Status.SUBMITTED
    assert referral.team == world.front_door
    assert referral.referring_agency == world.police
    assert referral.referrer is None
    assert referral.cin_referral_source == "6"
    assert body["child"]["nhs_number"] == "9434765919"
    assert response["Location"] == f"/api/v1/referrals/{referral.pk}/"
    submit = AuditEvent.objects.get(action=AuditAction.SUBMIT, target_id=str(referral.pk))
    assert submit.actor == police_api.account
    assert submit.actor_label.startswith("api:")


def test_a_retried_post_with_the_same_key_makes_one_referral(police_api: ApiClient) -> None:
    headers = {"Idempotency-Key": "incident-2026-0042"}
    first = police_api.post("/api/v1/referrals/", NEW_REFERRAL, headers)
    again = police_api.post("/api/v1/referrals/", NEW_REFERRAL, headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Referral.objects.count() == 1

    different = police_api.post(
        "/api/v1/referrals/", {**NEW_REFERRAL, "urgency": "standard"}, headers
    )
    assert different.status_code == 422
    assert different.json()["type"] == "/api/problems/idempotency-key-reused"
    assert Referral.objects.count() == 1


def test_invalid_input_is_a_problem_with_field_errors_and_changes_nothing(
    police_api: ApiClient,
) -> None:
    bad = {
        **NEW_REFERRAL,
        "child": {**NEW_REFERRAL["child"], "nhs_number": "9434765918"},
        "consent_reason": "",
        "urgency": "whenever",
    }
    response = police_api.post("/api/v1/referrals/", bad)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/api/problems/validation"
    assert problem["status"] == 400
    assert "urgency" in problem["errors"]
    assert "nhs_number" in problem["errors"]["child"]
    assert not Referral.objects.exists()


def test_the_rules_are_the_browser_forms(police_api: ApiClient) -> None:
    response = police_api.post("/api/v1/referrals/", {**NEW_REFERRAL, "consent_reason": " "})
    assert response.status_code == 400
    # The browser form's own message, word for word.
    assert response.json()["errors"]["consent_reason"] == [
        "Enter why consent was refused or not sought"
    ]
    assert not Referral.objects.exists()


def test_no_operation_answers_without_credentials(world: World) -> None:
    referral = _northshire_referrals(world, 1)[0]
    client = Client()
    for method, path in [
        ("get", "/api/v1/referrals/"),
        ("post", "/api/v1/referrals/"),
        ("get", f"/api/v1/referrals/{referral.pk}/"),
        ("post", f"/api/v1/referrals/{referral.pk}/receipt/"),
        ("get", "/api/v1/children/"),
        ("get", f"/api/v1/children/{referral.child_id}/"),
        ("get", "/api/v1/agencies/"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code in (401, 403), (method, path)
        assert response["Content-Type"] == "application/problem+json"


def test_a_read_only_token_cannot_submit(
    world: World, agency_client: Callable[..., ApiClient]
) -> None:
    reader = agency_client(world.police, scope="referrals:read")
    assert reader.get("/api/v1/referrals/").status_code == 200
    response = reader.post("/api/v1/referrals/", NEW_REFERRAL)
    assert response.status_code == 403
    assert not Referral.objects.exists()


def test_southvale_sees_none_of_northshires_referrals(
    southvale_api: ApiClient, northshire_api: ApiClient, world: World
) -> None:
    referrals = _northshire_referrals(world, 3)
    listed = southvale_api.get("/api/v1/referrals/").json()["results"]
    assert listed == []
    for referral in referrals:
        response = southvale_api.get(f"/api/v1/referrals/{referral.pk}/")
        assert response.status_code == 404
        assert response.json()["type"] == "/api/problems/not-found"
        assert southvale_api.get(f"/api/v1/children/{referral.child_id}/").status_code == 404
        assert southvale_api.post(f"/api/v1/referrals/{referral.pk}/receipt/").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.DENIED).count() == 9
    # Northshire's own system sees all three.
    assert len(northshire_api.get("/api/v1/referrals/").json()["results"]) == 3


def test_every_record_returned_is_audited_in_one_event_for_the_page(
    northshire_api: ApiClient, world: World
) -> None:
    referrals = _northshire_referrals(world, 4)
    northshire_api.get("/api/v1/referrals/")
    listed = AuditEvent.objects.get(action=AuditAction.LIST, actor=northshire_api.account)
    assert sorted(listed.target_ids or ()) == sorted(r.pk for r in referrals)


def test_the_list_query_count_does_not_grow_with_page_size(
    northshire_api: ApiClient,
    world: World,
    django_assert_max_num_queries: Any,
    django_assert_num_queries: Any,
) -> None:
    _northshire_referrals(world, 40)

    def queries(size: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = northshire_api.get("/api/v1/referrals/", {"page_size": size})
        assert len(response.json()["results"]) == size
        return len(captured)

    assert queries(5) == queries(40)


def test_partners_get_what_the_pages_show_them_and_no_more(
    world: World, dsl: Any, team_manager: Any, agency_client: Callable[..., ApiClient]
) -> None:
    referral = factories.AcknowledgedReferralFactory.create(
        referring_agency=world.riverside,
        referrer=dsl,
        child__created_by_agency=world.riverside,
        team=world.front_door,
    )
    referral_decide(
        referral=referral,
        user=team_manager,
        outcome="s47",
        rationale="Internal reasoning",
        feedback="Strategy discussion today.",
    )
    referral_share(
        referral=referral,
        user=team_manager,
        agency=world.health,
        reason="Strategy",
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    health = agency_client(world.health)
    body = health.get(f"/api/v1/referrals/{referral.pk}/").json()
    texts = [event["text"] for event in body["events"]]
    kinds = [event["kind"] for event in body["events"]]
    # A partner sees what the pages show it: the outcome, not the reasons or the feedback.
    assert "Internal reasoning" not in texts
    assert "Strategy discussion today." not in texts
    assert "Strategy" not in texts  # the share's own reason
    assert not {"shared", "decided"} & set(kinds)
    assert body["decision"]["outcome"] == "s47"
    assert body["decision"]["feedback"] is None
    assert body["escalation_level"] is None
    listed = health.get("/api/v1/referrals/").json()["results"]
    assert [row["decision"]["feedback"] for row in listed] == [None]

    school = agency_client(world.riverside).get(f"/api/v1/referrals/{referral.pk}/").json()
    assert school["decision"]["feedback"] == "Strategy discussion today."
    assert "Strategy discussion today." in [event["text"] for event in school["events"]]
    assert "Internal reasoning" not in [event["text"] for event in school["events"]]

    receipt = health.post(f"/api/v1/referrals/{referral.pk}/receipt/")
    assert receipt.status_code == 200
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.ACKNOWLEDGE_RECEIPT, target_id=str(referral.pk)
        ).count()
        == 1
    )
    assert health.post(f"/api/v1/referrals/{referral.pk}/receipt/").status_code == 200


def test_only_authorities_look_up_by_nhs_number(
    police_api: ApiClient, northshire_api: ApiClient, world: World
) -> None:
    referral = _northshire_referrals(world, 1)[0]
    referral.child.nhs_number = "9434765919"
    referral.child.save()
    refused = police_api.post("/api/v1/referrals/search/", {"nhs_number": "9434765919"})
    assert refused.status_code == 403
    found = northshire_api.post("/api/v1/referrals/search/", {"nhs_number": "943 476 5919"})
    assert found.status_code == 200
    assert [r["id"] for r in found.json()["results"]] == [referral.pk]
    invalid = northshire_api.post("/api/v1/referrals/search/", {"nhs_number": "9434765918"})
    assert invalid.status_code == 400
    assert set(invalid.json()["errors"]) == {"nhs_number"}


def test_a_client_is_throttled_with_retry_after(police_api: ApiClient, settings: Any) -> None:
    settings.API_THROTTLE_RATE = "3/min"
    codes = [police_api.get("/api/v1/agencies/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = police_api.get("/api/v1/agencies/")
    assert response.json()["type"] == "/api/problems/throttled"
    assert int(response["Retry-After"]) > 0


def test_a_revoked_token_is_refused(police_api: ApiClient) -> None:
    from oauth2_provider.models import AccessToken

    # Tokens are stored hashed (RFC 9700), so revoke the account's token as the admin does.
    tokens = AccessToken.objects.filter(application__user=police_api.account)
    assert tokens.exists()
    assert not tokens.filter(token=police_api.token).exists()
    tokens.delete()
    assert police_api.get("/api/v1/referrals/").status_code == 401
