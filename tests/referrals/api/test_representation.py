"""A referral's JSON is exactly what ReferralSerializer's declared fields give, for each reader.

The representation is built by hand from one flat row (`referral_representation`); these tests
hold it to DRF's own field-by-field output of the declared serializer, which also makes the
schema.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework import serializers

from referrals.api.serializers import ReferralSerializer
from referrals.casework.sharing import referral_share
from referrals.casework.triage import referral_decide
from referrals.models import Referral
from referrals.visibility import Audience, referral_audience
from tests import factories
from tests.conftest import World
from tests.referrals.api.conftest import ApiClient

UTC = datetime.UTC
SUMMER = datetime.datetime(2026, 7, 14, 8, 30, 5, 120000, tzinfo=UTC)  # BST: +01:00
WINTER = datetime.datetime(2026, 1, 6, 23, 59, 59, tzinfo=UTC)  # GMT: Z, no microseconds


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def _declared(referral: Referral, user: Any) -> dict[str, Any]:
    """DRF's own representation of the declared fields, with the partners' rule applied."""
    serializer = ReferralSerializer(context={"user": user})
    data: dict[str, Any] = serializers.ModelSerializer.to_representation(serializer, referral)
    if not hasattr(referral, "decision"):
        data["decision"] = None
    if referral_audience(user=user, referral=referral) == Audience.PARTNER:
        if data["decision"] is not None:
            data["decision"]["feedback"] = None
        data["escalation_level"] = None
    return data


@pytest.fixture
def referrals(world: World, dsl: Any, team_manager: Any) -> list[Referral]:
    """A decided one shared with health, a plain submitted one, and a draft with no team."""
    decided = factories.AcknowledgedReferralFactory.create(
        referring_agency=world.riverside,
        referrer=dsl,
        child__created_by_agency=world.riverside,
        child__nhs_number="9434765919",
        child__date_of_birth=datetime.date(2012, 11, 30),
        team=world.front_door,
        category="neglect",
        factors=["domestic_abuse", "neglect"],
        submitted_at=SUMMER,
        acknowledged_at=SUMMER + datetime.timedelta(hours=1),
        acknowledge_due_at=SUMMER + datetime.timedelta(days=1),
        decision_due_at=SUMMER + datetime.timedelta(days=2),
        escalation_level=2,
    )
    referral_decide(
        referral=decided,
        user=team_manager,
        outcome="s47",
        rationale="Internal reasoning",
        feedback="Strategy discussion today.",
    )
    referral_share(
        referral=decided,
        user=team_manager,
        agency=world.health,
        reason="Strategy",
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    submitted = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside,
        child__created_by_agency=world.riverside,
        child__date_of_birth=None,
        child__expected_date_of_birth=datetime.date(2027, 2, 1),
        team=world.front_door,
        submitted_at=WINTER,
        acknowledge_due_at=WINTER + datetime.timedelta(days=1),
        decision_due_at=WINTER + datetime.timedelta(days=1),
        transferred_from=decided,
    )
    draft = factories.ReferralFactory.create(
        referring_agency=world.riverside, child__created_by_agency=world.riverside
    )
    return [decided, submitted, draft]


@pytest.mark.parametrize(("reader", "seen"), [("riverside", 3), ("north_csc", 2), ("health", 1)])
def test_the_list_and_the_detail_are_what_the_declared_fields_give(
    reader: str,
    seen: int,
    world: World,
    referrals: list[Referral],
    agency_client: Callable[..., ApiClient],
) -> None:
    api = agency_client(getattr(world, reader))
    listed = api.get("/api/v1/referrals/").json()["results"]
    assert len(listed) == seen  # the referrer, the receiving team, a partner
    for row in listed:
        referral = Referral.objects.select_related(
            "child", "referring_agency", "local_authority", "team", "decision"
        ).get(pk=row["id"])
        declared = _declared(referral, api.account)
        assert row == declared
        assert list(row) == list(declared)
        detail = api.get(f"/api/v1/referrals/{row['id']}/").json()
        assert list(detail) == [*declared, "events"]
        assert {key: detail[key] for key in declared} == declared


def test_times_are_in_london_time_as_drf_writes_them(
    world: World, referrals: list[Referral], northshire_api: ApiClient
) -> None:
    rows = {row["id"]: row for row in northshire_api.get("/api/v1/referrals/").json()["results"]}
    decided, submitted, _draft = referrals
    assert rows[decided.pk]["submitted_at"] == "2026-07-14T09:30:05.120000+01:00"
    assert rows[submitted.pk]["submitted_at"] == "2026-01-06T23:59:59Z"
    assert rows[submitted.pk]["transferred_from"] == decided.pk
    assert rows[decided.pk]["escalation_level"] == 2
    assert rows[decided.pk]["decision"]["feedback"] == "Strategy discussion today."
