"""The escalation sweep as a service: the ladder, exactly once, and what people are told."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Q
from django.test import Client, override_settings
from django.utils import timezone

from referrals.casework.referrals import referral_create, referral_submit, referral_withdraw
from referrals.casework.triage import referral_acknowledge, referral_decide
from referrals.clocks.sweep import SWEEP_ACTOR, referral_escalations_sweep
from referrals.core.states import Clock
from referrals.models import (
    AuditAction,
    AuditEvent,
    Escalation,
    Notification,
    Referral,
    ReferralEvent,
)
from tests import factories
from tests.conftest import World

UTC = datetime.UTC
# Tuesday 24 November 2026, 10:30 in London (GMT, so the same in UTC): in working hours.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
DEADLINE = TUESDAY + datetime.timedelta(days=1)


def _submit(world: World, dsl: Any, urgency: str = "standard") -> Referral:
    child = factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Zebedee", last_name="Quill"
    )
    draft = referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        urgency=urgency,
        reason="Repeated signs of neglect.",
        consent=Referral.Consent.GIVEN,
    )
    return referral_submit(referral=draft, user=dsl)


def _member(agency: Any, role: str, team: Any = None) -> Any:
    user = factories.UserFactory.create()
    factories.MembershipFactory.create(user=user, agency=agency, team=team, role=role)
    return user


def _told(referral: Referral, user: Any) -> set[str]:
    """How `user` was told of an escalation of `referral`: the referrer's side in a notice of
    its own, the ladder's people in their digest of the sweep."""
    rows = Notification.objects.filter(
        Q(referral=referral, escalation__isnull=False) | Q(escalations__referral=referral),
        recipient=user,
    ).values_list("in_app", "email_status")
    told = set()
    for in_app, email in rows:
        told |= {"in_app"} if in_app else set()
        told |= {"email"} if email != Notification.EmailStatus.NONE else set()
    return told


@pytest.fixture
def service_manager(world: World) -> Any:
    return _member(world.north_csc, "service_manager")


@pytest.fixture
def duty_worker(world: World) -> Any:
    return _member(world.north_csc, "social_worker", world.edt)


def test_unacknowledged_referral_escalates_once(
    world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE - datetime.timedelta(minutes=1), tick=False):
        assert referral_escalations_sweep() == 0
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        assert referral_escalations_sweep() == 1
        assert referral_escalations_sweep() == 0

    referral.refresh_from_db()
    escalation = Escalation.objects.get(referral=referral)
    assert (escalation.clock, escalation.level, escalation.due_at) == (
        Clock.ACKNOWLEDGE,
        1,
        DEADLINE,
    )
    assert referral.escalation_level == 1
    # Level 2 is timed from when level 1 fired, not from the deadline.
    assert referral.next_escalation_at == DEADLINE + datetime.timedelta(hours=2, minutes=1)
    assert _told(referral, team_manager) == {"email", "in_app"}
    assert _told(referral, social_worker) == set()
    assert _told(referral, dsl) == {"email", "in_app"}  # the referrer
    event = referral.events.get(kind=ReferralEvent.Kind.ESCALATED)
    assert "Level 1" in event.text
    assert not event.is_internal
    audit = AuditEvent.objects.get(action=AuditAction.ESCALATE, target_id=str(referral.pk))
    assert audit.actor is None
    assert audit.actor_label == SWEEP_ACTOR
    assert audit.data["clock"] == Clock.ACKNOWLEDGE
    assert audit.data["told"] == [team_manager.pk]


def test_the_referrer_is_told_the_deadline_passed_and_the_route(
    world: World, dsl: Any, team_manager: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        referral_escalations_sweep()
    notice = Notification.objects.get(referral=referral, recipient=dsl)
    assert (notice.in_app, notice.email_status) == (True, Notification.EmailStatus.PENDING)
    assert notice.subject == "Your referral has passed its deadline"
    assert "Front Door team managers" in notice.body
    assert "by 12:31 on 25 November 2026, the service managers are told" in notice.body
    assert world.northshire.front_door_phone in notice.body


def test_level_two_tells_the_service_managers_and_then_the_ladder_ends(
    world: World, dsl: Any, team_manager: Any, service_manager: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=5), tick=False):
        referral_escalations_sweep()
    # Two hours after level 1 fired (five minutes after the deadline), not after the deadline.
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=124), tick=False):
        assert referral_escalations_sweep() == 0
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=126), tick=False):
        assert referral_escalations_sweep() == 1
    with time_machine.travel(DEADLINE + datetime.timedelta(days=3), tick=False):
        assert referral_escalations_sweep() == 0

    referral.refresh_from_db()
    assert list(referral.escalations.order_by("level").values_list("level", flat=True)) == [1, 2]
    assert referral.escalation_level == 2
    assert referral.next_escalation_at is None
    level_two = referral.escalations.get(level=2)
    assert level_two.due_at == DEADLINE + datetime.timedelta(minutes=125)
    assert _told(referral, service_manager) == {"email", "in_app"}
    # Level 2 is told to the service managers only; the referrer heard at level 1.
    assert set(level_two.digests.values_list("recipient_id", flat=True)) == {service_manager.pk}
    assert not level_two.notifications.exists()


def test_after_a_two_hour_outage_one_sweep_raises_one_rung_not_two(
    world: World, dsl: Any, team_manager: Any, service_manager: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    # Nothing ran from the deadline until two hours later (an outage): the first sweep back
    # tells the team managers, and only them, however late it is.
    back = DEADLINE + datetime.timedelta(hours=2)
    with time_machine.travel(back, tick=False):
        assert referral_escalations_sweep() == 1
        assert referral_escalations_sweep() == 0
    assert list(referral.escalations.values_list("level", flat=True)) == [1]
    assert _told(referral, team_manager) == {"email", "in_app"}
    assert _told(referral, service_manager) == set()
    referral.refresh_from_db()
    assert referral.next_escalation_at == back + datetime.timedelta(hours=2)
    # The service managers are told a rung interval after that sweep, if nobody acted.
    with time_machine.travel(back + datetime.timedelta(minutes=119), tick=False):
        assert referral_escalations_sweep() == 0
    with time_machine.travel(back + datetime.timedelta(minutes=121), tick=False):
        assert referral_escalations_sweep() == 1
    assert list(referral.escalations.order_by("level").values_list("level", flat=True)) == [1, 2]
    assert _told(referral, service_manager) == {"email", "in_app"}


def test_after_an_outage_a_referral_acknowledged_before_its_second_rung_never_reaches_it(
    world: World, dsl: Any, team_manager: Any, social_worker: Any, service_manager: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    back = DEADLINE + datetime.timedelta(hours=3)
    with time_machine.travel(back, tick=False):
        assert referral_escalations_sweep() == 1
    with time_machine.travel(back + datetime.timedelta(minutes=30), tick=False):
        referral_acknowledge(referral=referral, user=social_worker)
    with time_machine.travel(back + datetime.timedelta(minutes=121), tick=False):
        referral_escalations_sweep()
    assert not referral.escalations.filter(clock=Clock.ACKNOWLEDGE, level=2).exists()
    assert _told(referral, service_manager) == set()


def test_an_acknowledgement_in_time_stops_the_acknowledgement_clock(
    world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE - datetime.timedelta(hours=1), tick=False):
        referral_acknowledge(referral=referral, user=social_worker)
    with time_machine.travel(DEADLINE - datetime.timedelta(minutes=1), tick=False):
        assert referral_escalations_sweep() == 0
    # The decision was due at the same time: its own ladder starts at level 1.
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        assert referral_escalations_sweep() == 1
    assert set(referral.escalations.values_list("clock", "level")) == {(Clock.DECIDE, 1)}


def test_acknowledging_after_an_escalation_restarts_the_ladder_for_the_decision(
    world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    with time_machine.travel(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False):
        referral = _submit(world, dsl, urgency="immediate")
    with time_machine.travel(datetime.datetime(2026, 11, 24, 11, 5, tzinfo=UTC), tick=False):
        assert referral_escalations_sweep() == 1
        referral_acknowledge(referral=referral, user=social_worker)
        referral.refresh_from_db()
        assert referral.escalation_level == 0
        assert referral.next_escalation_at == referral.decision_due_at
        assert referral_escalations_sweep() == 0
    assert referral.decision_due_at is not None
    with time_machine.travel(referral.decision_due_at + datetime.timedelta(minutes=1)):
        assert referral_escalations_sweep() == 1
    assert set(referral.escalations.values_list("clock", "level")) == {
        (Clock.ACKNOWLEDGE, 1),
        (Clock.DECIDE, 1),
    }


@pytest.mark.parametrize("ending", ["decide", "withdraw"])
def test_a_referral_whose_clocks_stopped_is_never_escalated(
    world: World, dsl: Any, team_manager: Any, social_worker: Any, ending: str
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
        if ending == "decide":
            referral_acknowledge(referral=referral, user=social_worker)
            referral_decide(
                referral=referral,
                user=social_worker,
                outcome="nfa",
                rationale="Known to early help.",
                feedback="No further action.",
            )
        else:
            referral_withdraw(referral=referral, user=dsl, reason="Sent in error.")
    with time_machine.travel(DEADLINE + datetime.timedelta(days=5), tick=False):
        assert referral_escalations_sweep() == 0
    assert not Escalation.objects.exists()


def test_out_of_hours_the_emergency_duty_team_is_alerted(
    world: World, dsl: Any, team_manager: Any, duty_worker: Any
) -> None:
    # Submitted at 16:00 on Tuesday: due 16:00 on Wednesday, swept at 17:30 (out of hours).
    with time_machine.travel(datetime.datetime(2026, 11, 24, 16, 0, tzinfo=UTC), tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(datetime.datetime(2026, 11, 25, 17, 30, tzinfo=UTC), tick=False):
        assert referral_escalations_sweep() == 1
    assert _told(referral, duty_worker) == {"email", "in_app"}
    # The manager is off duty: it waits in the app for the morning, with no email at night.
    assert _told(referral, team_manager) == {"in_app"}
    audit = AuditEvent.objects.get(action=AuditAction.ESCALATE)
    assert audit.data["route"] == "emergency duty team"
    assert audit.data["out_of_hours"] is True


def test_a_team_without_managers_still_tells_someone(
    world: World, dsl: Any, social_worker: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        referral_escalations_sweep()
    assert _told(referral, social_worker) == {"email", "in_app"}


def test_no_child_details_in_anything_the_sweep_writes(
    world: World, dsl: Any, team_manager: Any, duty_worker: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE + datetime.timedelta(days=1), tick=False):
        referral_escalations_sweep()
    written = [
        *Notification.objects.filter(kind="escalation").values_list("subject", "body"),
        *referral.events.filter(kind="escalated").values_list("text", "text"),
        *[(str(d), "") for d in AuditEvent.objects.filter(action="escalate").values("data")],
    ]
    assert written
    for texts in written:
        for text in texts:
            assert "Zebedee" not in text
            assert "Quill" not in text
            assert referral.reason not in text


def test_the_sweep_works_through_every_batch(world: World, dsl: Any, team_manager: Any) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referrals = [_submit(world, dsl) for _ in range(5)]
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        assert referral_escalations_sweep(batch_size=2) == 5
    assert Escalation.objects.filter(referral__in=referrals, level=1).count() == 5


@pytest.mark.django_db(transaction=True)
def test_the_sweep_skips_a_referral_another_transaction_holds(
    world: World, dsl: Any, team_manager: Any
) -> None:
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    referral = factories.SubmittedReferralFactory.create(
        team=world.front_door,
        local_authority=world.northshire,
        acknowledge_due_at=an_hour_ago,
        next_escalation_at=an_hour_ago,
    )
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Referral.objects.select_for_update().get(pk=referral.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        # Skipped, not waited for: the sweep never blocks behind a person's work.
        assert referral_escalations_sweep() == 0
    finally:
        release.set()
        holder.join()
    assert referral_escalations_sweep() == 1


# Operations, pages and the demo --------------------------------------------------------------


def test_the_operations_command_lists_due_and_overdue_without_names(
    world: World, dsl: Any, team_manager: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        overdue = _submit(world, dsl)
    with time_machine.travel(DEADLINE - datetime.timedelta(minutes=5), tick=False):
        soon = _submit(world, dsl, urgency="immediate")  # due 55 minutes after the deadline
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=10), tick=False):
        referral_escalations_sweep()
        call_command("referral_clocks", "--within", "2")
    out = capsys.readouterr().out
    overdue_part, due_part = out.split("Due within 2h")
    assert f"#{overdue.pk:>8}" in overdue_part
    assert f"#{soon.pk:>8}" in due_part
    assert "Zebedee" not in out
    assert "Quill" not in out
    assert AuditEvent.objects.filter(
        action=AuditAction.LIST, actor_label="manage.py referral_clocks"
    ).exists()


@override_settings(REQUIRE_MFA=False)
def test_the_manager_sees_the_escalation_in_the_queue_and_on_the_timeline(
    world: World, dsl: Any, team_manager: Any
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        referral = _submit(world, dsl)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        referral_escalations_sweep()
        client = Client()
        client.force_login(team_manager)
        home = client.get("/").content.decode()
        detail = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Escalated, level 1" in home
    assert "Escalated, level 1" in detail
    assert "Not acknowledged by the deadline" in detail


@pytest.mark.parametrize(
    "started",
    [
        datetime.datetime(2026, 11, 24, 11, 0, tzinfo=UTC),  # Tuesday morning
        datetime.datetime(2026, 11, 29, 3, 0, tzinfo=UTC),  # Sunday night
    ],
)
@override_settings(DEMO_MODE=True, REQUIRE_MFA=False)
def test_the_demo_escalates_its_overdue_immediate_referral_to_the_front_door_manager(
    db: None, started: datetime.datetime
) -> None:
    with time_machine.travel(started, tick=False):
        call_command("seed_demo")
        referral_escalations_sweep()
    immediate = Referral.objects.get(urgency="immediate", status=Referral.Status.SUBMITTED)
    assert immediate.team is not None
    assert immediate.team.name == "Front Door"
    assert immediate.escalations.filter(level=1).exists()
    assert Notification.objects.filter(
        recipient__email="manager@northshire.example",
        escalations__referral=immediate,
        escalations__level=1,
    ).exists()
