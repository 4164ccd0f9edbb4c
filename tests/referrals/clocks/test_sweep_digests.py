"""Escalations are digested per person: one notice and one email per sweep run for each person
on a rung, naming exactly the referrals that run escalated to them; the referrer still hears
about each of their own."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from referrals.clocks.sweep import referral_escalations_sweep
from referrals.models import Escalation, Notification, Referral
from referrals.outbox.digests import (
    DIGEST_HOLD,
    DIGEST_LISTED,
    DigestPart,
    digests_release,
    digests_write,
)
from referrals.outbox.relay import notifications_relay
from tests import factories
from tests.conftest import World, _member, signed_in

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# Tuesday 24 November 2026, 10:30 in London (GMT): in working hours; due a day later.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
DEADLINE = TUESDAY + datetime.timedelta(days=1)
CHILD_NAMES = ("Zebedee", "Quill")


def _overdue(world: World, referrer: Any, team: Any, count: int) -> list[int]:
    """`count` referrals received by `team`, their acknowledgement due at DEADLINE."""
    child = factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name=CHILD_NAMES[0], last_name=CHILD_NAMES[1]
    )
    rows = [
        Referral(
            child=child,
            referring_agency=world.riverside,
            referrer=referrer,
            referrer_name="A Referrer",
            cin_referral_source="2A",
            local_authority=world.northshire,
            team=team,
            urgency="standard",
            reason="Repeated signs of neglect.",
            consent=Referral.Consent.GIVEN,
            status=Referral.Status.SUBMITTED,
            submitted_at=TUESDAY,
            acknowledge_due_at=DEADLINE,
            decision_due_at=DEADLINE,
            next_escalation_at=DEADLINE,
        )
        for _ in range(count)
    ]
    return [r.pk for r in Referral.objects.bulk_create(rows)]


def _digests(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).exclude(digest_key="").order_by("id"))


def _named(digest: Notification) -> set[int]:
    return set(digest.escalations.values_list("referral_id", flat=True))


@pytest.fixture
def assessment(world: World) -> Any:
    """A second team in the same authority, with its own manager."""
    return factories.TeamFactory.create(agency=world.north_csc, name="Assessment")


def test_a_digest_names_exactly_the_referrals_that_escalated_in_that_sweep(
    world: World, dsl: Any, team_manager: Any, assessment: Any
) -> None:
    second_manager = _member(world.north_csc, "team_manager", world.front_door)
    assessment_manager = _member(world.north_csc, "team_manager", assessment)
    front_door = _overdue(world, dsl, world.front_door, 3)
    (elsewhere,) = _overdue(world, dsl, assessment, 1)

    # Batches of two: the run's batches still make one digest per person.
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=7), tick=False):
        assert referral_escalations_sweep(batch_size=2) == 4
        for manager in (team_manager, second_manager):
            (digest,) = _digests(manager)
            assert _named(digest) == set(front_door)
            assert digest.digest_count == 3
            assert digest.subject == "Escalation: 3 referrals past their deadline"
            assert (digest.in_app, digest.email_status) == (True, "pending")
            for pk in front_door:
                assert (
                    f"Referral #{pk} (At the next review, Front Door): not acknowledged by "
                    in digest.body
                )
            assert f"#{elsewhere} " not in digest.body
            assert "7 minutes late. Level 1: the Front Door team managers." in digest.body
        (theirs,) = _digests(assessment_manager)
        assert _named(theirs) == {elsewhere}
        assert theirs.subject == f"Escalation: referral #{elsewhere} is past its deadline"

        # The run is over: the digests' emails go now, one per person, listing the same.
        assert notifications_relay() == 3 + 4  # three digests, four referrer notices
    to_manager = [m for m in mail.outbox if m.to == [team_manager.email]]
    assert len(to_manager) == 1
    for pk in front_door:
        assert f"Referral #{pk} " in to_manager[0].body
    assert f"#{elsewhere} " not in to_manager[0].body
    assert "/queue/?escalated=me" in to_manager[0].body
    # The referrer still hears about each of their own referrals, once each.
    told_referrer = Notification.objects.filter(recipient=dsl)
    assert sorted(told_referrer.values_list("referral_id", flat=True)) == sorted(
        [*front_door, elsewhere]
    )
    assert len([m for m in mail.outbox if m.to == [dsl.email]]) == 4
    for notice in Notification.objects.all():
        for name in CHILD_NAMES:
            assert name not in notice.subject + notice.body
    for message in mail.outbox:
        for name in CHILD_NAMES:
            assert name not in f"{message.subject}\n{message.body}"


def test_each_sweep_run_is_a_digest_of_its_own(world: World, dsl: Any, team_manager: Any) -> None:
    first = _overdue(world, dsl, world.front_door, 2)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        referral_escalations_sweep()
    later = factories.SubmittedReferralFactory.create(
        team=world.front_door,
        local_authority=world.northshire,
        referring_agency=world.riverside,
        referrer=dsl,
        acknowledge_due_at=DEADLINE + datetime.timedelta(minutes=30),
        next_escalation_at=DEADLINE + datetime.timedelta(minutes=30),
    )
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=31), tick=False):
        assert referral_escalations_sweep() == 1
    earlier, latest = _digests(team_manager)
    assert _named(earlier) == set(first)
    assert _named(latest) == {later.pk}
    assert earlier.digest_key != latest.digest_key


def test_the_manager_opens_a_digest_and_lands_on_the_referrals_escalated_to_them(
    client: Any, world: World, dsl: Any, team_manager: Any
) -> None:
    escalated = _overdue(world, dsl, world.front_door, 2)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        referral_escalations_sweep()
    (digest,) = _digests(team_manager)
    signed_in(client, team_manager)
    page = client.get("/notifications/").content.decode()
    assert page.count("data-row") == 1
    # One line a referral.
    first, second = (f"Referral #{pk} (At the next review, Front Door): " for pk in escalated)
    assert f"Front Door team managers.<br>{second}" in page
    assert first in page
    response = client.get(f"/notifications/{digest.pk}/")
    assert response["Location"] == "/queue/?escalated=me"
    digest.refresh_from_db()
    assert digest.read_at is not None


def test_a_digest_lists_a_hundred_and_counts_the_rest(
    world: World, dsl: Any, team_manager: Any
) -> None:
    many = _overdue(world, dsl, world.front_door, DIGEST_LISTED + 20)
    with time_machine.travel(DEADLINE + datetime.timedelta(minutes=1), tick=False):
        referral_escalations_sweep(batch_size=50)
        (digest,) = _digests(team_manager)
        assert _named(digest) == set(many)
        assert digest.digest_count == DIGEST_LISTED + 20
        listed = digest.body.count("\n") + 1
        assert DIGEST_LISTED <= listed < DIGEST_LISTED + 50
        notifications_relay()
    (email,) = [m for m in mail.outbox if m.to == [team_manager.email]]
    assert f"and {DIGEST_LISTED + 20 - listed} more." in email.body


def test_a_batch_writes_the_same_statements_however_many_it_escalates(
    world: World, dsl: Any, team_manager: Any, assessment: Any
) -> None:
    _member(world.north_csc, "team_manager", assessment)
    counts = []
    for size, due in ((2, DEADLINE), (40, DEADLINE + datetime.timedelta(hours=1))):
        rows = _overdue(world, dsl, world.front_door, size)
        rows += _overdue(world, dsl, assessment, size)
        Referral.objects.filter(pk__in=rows).update(acknowledge_due_at=due, next_escalation_at=due)
        with (
            time_machine.travel(due + datetime.timedelta(minutes=1), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert referral_escalations_sweep() == 2 * size
        counts.append(len(queries))
    assert counts[0] == counts[1]


# The digest's own guarantees, batch by batch --------------------------------------------------


def _escalations(world: World, dsl: Any, count: int) -> list[Escalation]:
    return [
        Escalation.objects.create(referral_id=pk, clock="acknowledge", level=1, due_at=DEADLINE)
        for pk in _overdue(world, dsl, world.front_door, count)
    ]


def _part(user: Any, escalations: list[Escalation], *, email: bool = True) -> DigestPart:
    part = DigestPart(recipient_id=user.pk)
    for escalation in escalations:
        part.add(
            referral_id=escalation.referral_id,
            escalation_id=escalation.pk,
            line=f"Referral #{escalation.referral_id}",
            email=email,
        )
    return part


def test_a_run_that_dies_before_it_ends_still_sends_its_digest_when_the_hold_runs_out(
    world: World, dsl: Any, team_manager: Any
) -> None:
    first, second = _escalations(world, dsl, 2)
    with time_machine.travel(DEADLINE, tick=False):
        digests_write(key="sweep:dead", parts=[_part(team_manager, [first])])
    with time_machine.travel(DEADLINE + datetime.timedelta(seconds=5), tick=False):
        # Its next batch pushes the hold on; nothing goes while the run may still add to it.
        digests_write(key="sweep:dead", parts=[_part(team_manager, [second])])
        assert notifications_relay() == 0
    # The run never ends (its process died): once the hold runs out the relay sends it.
    with time_machine.travel(DEADLINE + datetime.timedelta(seconds=5) + DIGEST_HOLD, tick=False):
        assert notifications_relay() == 1
    (email,) = mail.outbox
    assert f"Referral #{first.referral_id}\nReferral #{second.referral_id}" in email.body
    (digest,) = _digests(team_manager)
    assert (digest.digest_count, digest.subject) == (
        2,
        "Escalation: 2 referrals past their deadline",
    )


def test_a_run_that_ends_releases_its_digests_at_once(
    world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    (escalation,) = _escalations(world, dsl, 1)
    with time_machine.travel(DEADLINE, tick=False):
        digests_write(
            key="sweep:done",
            parts=[
                _part(team_manager, [escalation]),
                _part(social_worker, [escalation], email=False),
            ],
        )
        assert notifications_relay() == 0
        assert digests_release(key="sweep:done") == 1  # the in-app-only digest has no email
        assert notifications_relay() == 1
    assert [m.to for m in mail.outbox] == [[team_manager.email]]


def test_a_stalled_runs_later_batch_opens_a_new_digest_rather_than_add_to_one_sent(
    world: World, dsl: Any, team_manager: Any
) -> None:
    first, second = _escalations(world, dsl, 2)
    with time_machine.travel(DEADLINE, tick=False):
        digests_write(key="sweep:slow", parts=[_part(team_manager, [first])])
    with time_machine.travel(DEADLINE + DIGEST_HOLD, tick=False):
        assert notifications_relay() == 1
        digests_write(key="sweep:slow", parts=[_part(team_manager, [second])])
        digests_release(key="sweep:slow")
        assert notifications_relay() == 1
    sent, opened = _digests(team_manager)
    assert (_named(sent), _named(opened)) == ({first.referral_id}, {second.referral_id})
    assert len(mail.outbox) == 2


def test_an_in_app_digest_that_gains_an_email_is_emailed(
    world: World, dsl: Any, team_manager: Any
) -> None:
    first, second = _escalations(world, dsl, 2)
    with time_machine.travel(DEADLINE, tick=False):
        digests_write(key="sweep:mixed", parts=[_part(team_manager, [first], email=False)])
        digests_write(key="sweep:mixed", parts=[_part(team_manager, [second], email=True)])
        digests_release(key="sweep:mixed")
        assert notifications_relay() == 1
    (digest,) = _digests(team_manager)
    assert _named(digest) == {first.referral_id, second.referral_id}
