"""Concerns adding up: sharing a low-level concern with the front door, and pattern flags."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from referrals.casework.queue import QueueFilters, referral_queue_for_user
from referrals.casework.referrals import referral_create, referral_submit
from referrals.casework.triage import referral_acknowledge, referral_decide
from referrals.clocks.sweep import referral_escalations_sweep
from referrals.concerns.services import concern_create
from referrals.core.errors import ApplicationError
from referrals.models import (
    AuditAction,
    AuditEvent,
    Child,
    Concern,
    Escalation,
    PatternFlag,
    PatternRule,
    Referral,
)
from referrals.patterns.services import concern_share_with_authority
from tests import factories
from tests.conftest import World
from tests.referrals.joined_up import NHS, TUESDAY, record_child

# Concerns adding up --------------------------------------------------------------------------


@pytest.fixture
def health_lead(world: World) -> Any:
    user = factories.UserFactory.create(email="lead@health.test")
    factories.MembershipFactory.create(user=user, agency=world.health, role="dsl")
    return user


def _record_and_share(agency: Any, user: Any, child: Child, when: datetime.datetime) -> Concern:
    concern = concern_create(
        user=user,
        agency=agency,
        child=child,
        observed_at=when,
        what_happened="Low-level worry.",
    )
    return concern_share_with_authority(concern=concern, user=user, reason="Below threshold.")


def test_three_agencies_low_level_concerns_raise_one_flag_that_escalates(
    world: World,
    dsl: Any,
    police_officer: Any,
    health_lead: Any,
    social_worker: Any,
    team_manager: Any,
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        # Each agency knows the child by its own record; the NHS number joins them.
        school_child = record_child(
            world.riverside, dsl, "Ava", "Green", "2014-06-01", nhs_number=NHS
        )
        police_child = record_child(
            world.police, police_officer, "Ava", "Green", "2014-06-01", nhs_number=NHS
        )
        health_child = record_child(
            world.health, health_lead, "Eva", "Green", "2014-06-01", nhs_number=NHS
        )
        school = _record_and_share(
            world.riverside, dsl, school_child, TUESDAY - datetime.timedelta(days=80)
        )
        police = _record_and_share(
            world.police, police_officer, police_child, TUESDAY - datetime.timedelta(days=30)
        )
        assert not PatternFlag.objects.exists()  # two concerns are not yet a pattern
        health = _record_and_share(world.health, health_lead, health_child, TUESDAY)

        flag = PatternFlag.objects.get()
        item = flag.item
        assert item.kind == Referral.Kind.PATTERN
        assert (item.status, item.team, item.child) == ("submitted", world.front_door, school_child)
        assert set(item.concerns.all()) == {school, police, health}
        assert flag.summary.startswith("3 concerns from 3 agencies within 90 days")
        raised = AuditEvent.objects.get(action=AuditAction.FLAG)
        assert raised.actor_label == "pattern rules"
        assert sorted(raised.data["concerns"]) == sorted([school.pk, police.pk, health.pk])

        # It is in the Northshire front door's queue, once, with its concerns.
        page = referral_queue_for_user(user=social_worker, filters=QueueFilters())
        assert [r.pk for r in page.rows] == [item.pk]
        # A fourth concern joins the open flag: still one.
        _record_and_share(world.riverside, dsl, school_child, TUESDAY)
        assert PatternFlag.objects.count() == 1
        assert item.concerns.count() == 4

    # Nobody acknowledges it: the one sweep escalates it like a referral, once.
    later = (item.acknowledge_due_at or TUESDAY) + datetime.timedelta(minutes=1)
    assert referral_escalations_sweep(now=later) == 1
    assert referral_escalations_sweep(now=later) == 0
    escalation = Escalation.objects.get(referral=item)
    assert (escalation.clock, escalation.level) == ("acknowledge", 1)
    assert (
        AuditEvent.objects.filter(action=AuditAction.ESCALATE, target_id=str(item.pk)).count() == 1
    )


def test_concerns_from_one_agency_or_outside_the_window_raise_nothing(
    world: World, dsl: Any, police_officer: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    for _ in range(3):
        _record_and_share(world.riverside, dsl, child, timezone.now())
    old = timezone.now() - datetime.timedelta(days=120)
    _record_and_share(world.police, police_officer, child, old)
    assert not PatternFlag.objects.exists()
    assert not Referral.objects.filter(kind=Referral.Kind.PATTERN).exists()


def test_the_rules_are_the_authoritys_own(world: World, dsl: Any, police_officer: Any) -> None:
    PatternRule.objects.create(
        local_authority=world.northshire, kind="cumulative", min_concerns=2, min_agencies=2
    )
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    _record_and_share(world.riverside, dsl, child, timezone.now())
    _record_and_share(world.police, police_officer, child, timezone.now())
    assert PatternFlag.objects.get().rule.min_concerns == 2


def test_a_repeat_referral_after_no_further_action_is_flagged(
    world: World, dsl: Any, social_worker: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)

    def refer() -> Referral:
        draft = referral_create(
            user=dsl,
            agency=world.riverside,
            child=child,
            urgency="standard",
            reason="Neglect.",
            consent=Referral.Consent.GIVEN,
        )
        return referral_submit(referral=draft, user=dsl)

    first = refer()
    referral_acknowledge(referral=first, user=social_worker)
    referral_decide(
        referral=first,
        user=social_worker,
        outcome="nfa",
        rationale="Needs met by universal services.",
        feedback="Thank you.",
    )
    assert not PatternFlag.objects.exists()
    second = refer()
    flag = PatternFlag.objects.get()
    assert flag.item == second
    assert list(flag.referrals.all()) == [first]
    assert AuditEvent.objects.filter(action=AuditAction.FLAG, target_id=str(second.pk)).exists()


def test_sharing_a_concern_is_for_leads_and_audited(world: World, teacher: Any, dsl: Any) -> None:
    concern = factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    with pytest.raises(ApplicationError):
        concern_share_with_authority(concern=concern, user=teacher, reason="Worried.")
    concern_share_with_authority(concern=concern, user=dsl, reason="Worried.")
    concern.refresh_from_db()
    assert concern.shared_with_authority == world.northshire
    assert AuditEvent.objects.filter(
        action=AuditAction.SHARE, target_type="referrals.concern", actor=dsl
    ).exists()
    with pytest.raises(ApplicationError):
        concern_share_with_authority(concern=concern, user=dsl, reason="Again.")
