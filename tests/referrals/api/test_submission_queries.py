"""Issue 17: an agency system's submission costs a fixed, small number of queries.

The count includes the submission's own transaction: inside the test's, its BEGIN and COMMIT
are a SAVEPOINT and its RELEASE.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db.models import Q

from referrals.models import AuditAction, AuditEvent, Notification, PatternRule, Referral
from referrals.patterns.services import pattern_rules_for
from tests.conftest import World
from tests.referrals.api.conftest import ApiClient
from tests.referrals.api.test_referrals import NEW_REFERRAL

SUBMISSION_QUERY_BUDGET = 15
# A Tuesday in working hours, and the Saturday night after it (Europe/London is UTC in winter).
TUESDAY_MORNING = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)
SATURDAY_NIGHT = datetime.datetime(2026, 11, 28, 23, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _demo_rules(world: World) -> None:
    """The demo's pattern rules in place (as after an authority's first submission)."""
    rules = pattern_rules_for(world.northshire)
    assert {rule.kind for rule in rules} == set(PatternRule.Kind)
    cache.clear()


def _submit(api: ApiClient, body: dict[str, Any], assert_max: Any, key: str) -> Referral:
    with assert_max(SUBMISSION_QUERY_BUDGET):
        response = api.post("/api/v1/referrals/", body, {"Idempotency-Key": key})
    assert response.status_code == 201, response.json()
    referral = Referral.objects.get(pk=response.json()["id"])
    assert referral.status == Referral.Status.SUBMITTED
    return referral


def _told(referral: Referral) -> set[int]:
    return set(Notification.objects.filter(referral=referral).values_list("recipient", flat=True))


@pytest.mark.parametrize(
    "child",
    [
        pytest.param(NEW_REFERRAL["child"], id="a new child with an NHS number"),
        pytest.param(
            {k: v for k, v in NEW_REFERRAL["child"].items() if k != "nhs_number"},
            id="a new child without one",
        ),
    ],
)
def test_a_submission_about_a_new_child_costs_at_most_15_queries(
    police_api: ApiClient,
    world: World,
    social_worker: Any,
    team_manager: Any,
    child: dict[str, Any],
    django_assert_max_num_queries: Any,
) -> None:
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        body = {**NEW_REFERRAL, "child": child}
        referral = _submit(police_api, body, django_assert_max_num_queries, "incident-0101")
    assert referral.team == world.front_door
    assert referral.referring_agency == world.police
    assert _told(referral) == {social_worker.pk, team_manager.pk}
    audited = AuditEvent.objects.filter(
        Q(target_type="referrals.referral", target_id=str(referral.pk))
        | Q(target_type="referrals.child", target_id=str(referral.child_id))
    )
    assert sorted(audited.values_list("target_type", "action")) == [
        ("referrals.child", AuditAction.CREATE),
        ("referrals.referral", AuditAction.CREATE),
        ("referrals.referral", AuditAction.SUBMIT),
    ]


def test_a_submission_about_a_known_child_costs_at_most_15_queries(
    seeded: ApiClient,
    world: World,
    social_worker: Any,
    django_assert_max_num_queries: Any,
) -> None:
    """The seeded authority's system refers a child it already knows, by id: the pattern
    rules then read what the authority knows about the child, under the child's lock."""
    known = Referral.objects.filter(team=world.front_door).first()
    assert known is not None
    body = {
        **{k: v for k, v in NEW_REFERRAL.items() if k != "child"},
        "child": {"id": known.child_id},
    }
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        referral = _submit(seeded, body, django_assert_max_num_queries, "case-0007")
    assert referral.child_id == known.child_id
    assert referral.team == world.front_door
    assert _told(referral) == {social_worker.pk}


def test_the_rules_read_with_the_authority_route_out_of_hours_to_the_duty_team(
    police_api: ApiClient, world: World, django_assert_max_num_queries: Any
) -> None:
    """The routing rules and closure days read in the authority's one query are applied in
    their order: immediate risk on a Saturday night goes to the emergency duty team."""
    body = {**NEW_REFERRAL, "urgency": "immediate"}
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        referral = _submit(police_api, body, django_assert_max_num_queries, "night-0001")
    assert referral.team == world.edt
    with time_machine.travel(TUESDAY_MORNING, tick=False):
        daytime = _submit(police_api, body, django_assert_max_num_queries, "day-0001")
    assert daytime.team == world.front_door
