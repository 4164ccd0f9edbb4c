"""Referral services: state, timeline, audit row and error constant for each transition."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from referrals.casework.referrals import (
    referral_create,
    referral_submit,
    referral_transfer,
    referral_withdraw,
)
from referrals.casework.triage import (
    referral_acknowledge,
    referral_claim,
    referral_decide,
    referral_provide_information,
    referral_request_information,
)
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, AuditEvent, Notification, Referral, ReferralEvent
from tests import factories
from tests.conftest import World

LONDON = datetime.timezone(datetime.timedelta(0))  # November: London is on GMT


def _draft(world: World, dsl: Any, **extra: Any) -> Referral:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    return referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        urgency=extra.pop("urgency", "standard"),
        reason="Repeated signs of neglect.",
        consent=Referral.Consent.GIVEN,
        **extra,
    )


def _actions(referral: Referral) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="referrals.referral", target_id=str(referral.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@time_machine.travel(datetime.datetime(2026, 11, 24, 10, 30, tzinfo=LONDON), tick=False)
def test_submit_routes_to_the_front_door_and_starts_the_clocks(
    world: World, dsl: Any, social_worker: Any
) -> None:
    referral = referral_submit(referral=_draft(world, dsl), user=dsl)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SUBMITTED
    assert referral.team == world.front_door
    assert referral.cin_referral_source == "2A"
    # One working day: the same time on Wednesday.
    due = datetime.datetime(2026, 11, 25, 10, 30, tzinfo=LONDON)
    assert referral.acknowledge_due_at == due
    assert referral.decision_due_at == due
    assert referral.next_escalation_at == due
    assert _actions(referral) == [AuditAction.CREATE, AuditAction.SUBMIT]
    assert list(referral.events.values_list("kind", flat=True)) == ["created", "submitted"]
    # One notice, in the app and by email.
    assert set(
        Notification.objects.filter(recipient=social_worker, referral=referral).values_list(
            "in_app", "email_status"
        )
    ) == {(True, "pending")}


@time_machine.travel(datetime.datetime(2026, 11, 28, 23, 0, tzinfo=LONDON), tick=False)
def test_immediate_risk_out_of_hours_goes_to_the_emergency_duty_team(
    world: World, dsl: Any
) -> None:
    referral = referral_submit(referral=_draft(world, dsl, urgency="immediate"), user=dsl)
    assert referral.team == world.edt
    assert referral.acknowledge_due_at == timezone.now() + datetime.timedelta(hours=1)


def test_submitting_twice_is_refused_and_changes_nothing(world: World, dsl: Any) -> None:
    referral = referral_submit(referral=_draft(world, dsl), user=dsl)
    with pytest.raises(ApplicationError) as error:
        referral_submit(referral=referral, user=dsl)
    assert error.value.message == errors.REFERRAL_NOT_DRAFT
    assert _actions(referral) == [AuditAction.CREATE, AuditAction.SUBMIT]


def test_a_teacher_cannot_refer(world: World, teacher: Any) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    with pytest.raises(ApplicationError) as error:
        referral_create(
            user=teacher,
            agency=world.riverside,
            child=child,
            urgency="standard",
            reason="x",
            consent="given",
        )
    assert error.value.message == errors.PERMISSION_DENIED
    assert not Referral.objects.exists()


def test_the_whole_journey_to_a_decision(world: World, dsl: Any, social_worker: Any) -> None:
    referral = referral_submit(referral=_draft(world, dsl), user=dsl)
    referral_claim(referral=referral, user=social_worker)
    referral_acknowledge(referral=referral, user=social_worker)
    referral_request_information(
        referral=referral, user=social_worker, message="Who lives at home?"
    )
    referral_provide_information(referral=referral, user=dsl, message="Mum and Dad.")
    referral_decide(
        referral=referral,
        user=social_worker,
        outcome="s17",
        rationale="Needs an assessment.",
        feedback="We will assess the family's needs.",
        category="neglect",
        factors=["domestic_abuse"],
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DECIDED
    assert referral.owner == social_worker
    assert referral.next_escalation_at is None
    assert referral.decision.outcome == "s17"
    assert referral.factors == ["domestic_abuse"]
    assert _actions(referral) == [
        AuditAction.CREATE,
        AuditAction.SUBMIT,
        AuditAction.CLAIM,
        AuditAction.ACKNOWLEDGE,
        AuditAction.REQUEST_INFORMATION,
        AuditAction.PROVIDE_INFORMATION,
        AuditAction.DECIDE,
    ]
    kinds = list(referral.events.values_list("kind", "is_internal"))
    assert (ReferralEvent.Kind.DECIDED, True) in kinds
    assert (ReferralEvent.Kind.FEEDBACK, False) in kinds
    assert Notification.objects.filter(
        recipient=dsl, subject="The outcome of your referral"
    ).exists()


def test_a_second_claim_gets_a_clear_message(
    world: World, dsl: Any, social_worker: Any, team_manager: Any
) -> None:
    referral = referral_submit(referral=_draft(world, dsl), user=dsl)
    referral_claim(referral=referral, user=social_worker)
    with pytest.raises(ApplicationError) as error:
        referral_claim(referral=referral, user=team_manager)
    assert error.value.message == errors.REFERRAL_ALREADY_CLAIMED
    referral.refresh_from_db()
    assert referral.owner == social_worker


def test_another_authoritys_social_worker_cannot_acknowledge(
    world: World, dsl: Any, outsider: Any
) -> None:
    referral = referral_submit(referral=_draft(world, dsl), user=dsl)
    with pytest.raises(ApplicationError) as error:
        referral_acknowledge(referral=referral, user=outsider)
    assert error.value.code == "permission_denied"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SUBMITTED


def test_withdraw_only_before_acknowledgement(world: World, dsl: Any, social_worker: Any) -> None:
    first = referral_submit(referral=_draft(world, dsl), user=dsl)
    referral_withdraw(referral=first, user=dsl, reason="Sent in error")
    first.refresh_from_db()
    assert (first.status, first.next_escalation_at) == (Referral.Status.WITHDRAWN, None)

    second = referral_submit(referral=_draft(world, dsl), user=dsl)
    referral_acknowledge(referral=second, user=social_worker)
    with pytest.raises(ApplicationError) as error:
        referral_withdraw(referral=second, user=dsl, reason="Changed my mind")
    assert error.value.message == errors.REFERRAL_NOT_WITHDRAWABLE


def test_a_draft_is_not_withdrawn_it_was_never_sent(world: World, dsl: Any) -> None:
    draft = _draft(world, dsl)
    with pytest.raises(ApplicationError) as error:
        referral_withdraw(referral=draft, user=dsl, reason="Sent in error")
    assert (error.value.message, error.value.code) == (errors.REFERRAL_NOT_WITHDRAWABLE, "state")
    draft.refresh_from_db()
    assert draft.status == Referral.Status.DRAFT


def test_transfer_gives_the_other_authority_a_fresh_referral(
    world: World, dsl: Any, team_manager: Any
) -> None:
    original = referral_submit(referral=_draft(world, dsl), user=dsl)
    successor = referral_transfer(
        referral=original, user=team_manager, to_authority=world.southvale, reason="Moved"
    )
    original.refresh_from_db()
    assert original.status == Referral.Status.TRANSFERRED
    assert successor.transferred_from == original
    assert successor.team == world.south_front_door
    assert successor.status == Referral.Status.SUBMITTED
    assert _actions(original)[-1] == AuditAction.TRANSFER
    assert _actions(successor) == [AuditAction.SUBMIT]
