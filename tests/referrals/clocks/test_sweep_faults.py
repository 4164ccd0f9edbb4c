"""Fault tests: real PostgreSQL, Redis, Celery worker and beat processes, killed and flushed.

Each escalation must happen on time and exactly once whatever fails. Time is real here (the
processes run on the wall clock), with a sweep interval of a second or two.
"""

from __future__ import annotations

import datetime
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from referrals.casework.triage import referral_acknowledge
from referrals.core import states
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
from tests.conftest import ROOT, World, wait_for
from tests.processes import CeleryProcess, celery_environment, start_celery

# What the fault tests measured; shown with `-o log_cli=true --log-cli-level=INFO`.
logger = logging.getLogger(__name__)


@pytest.fixture
def processes(redis_proc: Any, transactional_db: None) -> Iterator[list[CeleryProcess]]:
    """Celery processes a test starts; each is stopped at the end whatever happened."""
    started: list[CeleryProcess] = []
    yield started
    for process in started:
        process.stop()


def _overdue(
    world: World,
    referrer: Any,
    count: int,
    *,
    by: float = 300,
    status: str = Referral.Status.SUBMITTED,
) -> list[int]:
    """`count` referrals whose acknowledgement clock ran out `by` seconds ago (or will)."""
    now = timezone.now()
    due = now - datetime.timedelta(seconds=by)
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    rows = [
        Referral(
            child=child,
            referring_agency=world.riverside,
            referrer=referrer,
            referrer_name="A Referrer",
            cin_referral_source="2A",
            local_authority=world.northshire,
            team=world.front_door,
            urgency="standard",
            reason="Repeated signs of neglect.",
            consent=Referral.Consent.GIVEN,
            status=status,
            submitted_at=now - datetime.timedelta(days=1),
            acknowledge_due_at=due,
            decision_due_at=now + datetime.timedelta(days=1),
            next_escalation_at=due if status in states.OPEN else None,
        )
        for _ in range(count)
    ]
    return [r.pk for r in Referral.objects.bulk_create(rows, batch_size=1000)]


def _escalated(ids: list[int]) -> int:
    return Escalation.objects.filter(referral_id__in=ids).count()


def _escalation_set(ids: list[int]) -> set[tuple[int, str, int]]:
    return set(
        Escalation.objects.filter(referral_id__in=ids).values_list("referral_id", "clock", "level")
    )


def _assert_each_written_once(ids: list[int], per_referral: int) -> None:
    """Every side of an escalation exists exactly `per_referral` times per referral."""
    events = ReferralEvent.objects.filter(referral_id__in=ids, kind=ReferralEvent.Kind.ESCALATED)
    audits = AuditEvent.objects.filter(
        action=AuditAction.ESCALATE,
        target_type="referrals.referral",
        target_id__in=[str(pk) for pk in ids],
    )
    assert events.count() == per_referral * len(ids)
    assert audits.count() == per_referral * len(ids)
    counts = set(
        Notification.objects.filter(referral_id__in=ids, escalation__isnull=False)
        .values("referral_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    # The same people told for every referral: nobody twice, nobody missed.
    assert len(counts) == 1
    # The ladder's people: every escalation named in a digest of each of them, once.
    named = (
        Notification.escalations.through.objects.filter(escalation__referral_id__in=ids)
        .values("escalation_id")
        .annotate(n=Count("id"), people=Count("notification__recipient", distinct=True))
    )
    assert len(named) == Escalation.objects.filter(referral_id__in=ids).count()
    assert {(row["n"], row["people"]) for row in named} == {(1, 1)}


def _mails(tmp_path: Path) -> int:
    folder = tmp_path / "mail"
    if not folder.exists():
        return 0
    return sum(f.read_text().count("\nSubject: ") for f in folder.iterdir())


@pytest.mark.worker
def test_killing_the_worker_mid_sweep_escalates_each_exactly_once(
    processes: list[CeleryProcess], tmp_path: Path, world: World, team_manager: Any, dsl: Any
) -> None:
    ids = _overdue(world, dsl, 3000)
    worker = start_celery("worker", "worker", tmp_path)
    processes.append(worker)
    processes.append(start_celery("beat", "beat", tmp_path))

    # Mid-sweep: some batches committed, most not yet.
    wait_for(lambda: _escalated(ids) >= 400, timeout=60, interval=0.02)
    worker.kill()
    at_kill = _escalated(ids)
    assert 400 <= at_kill < 3000

    started = time.monotonic()
    again = start_celery("worker", "worker-again", tmp_path)
    processes.append(again)
    wait_for(lambda: _escalated(ids) == 3000, timeout=120)
    logger.info("killed at %s/3000; the rest in %.1f s", at_kill, time.monotonic() - started)

    assert _escalation_set(ids) == {(pk, Clock.ACKNOWLEDGE, 1) for pk in ids}
    assert set(Referral.objects.filter(pk__in=ids).values_list("escalation_level", flat=True)) == {
        1
    }
    _assert_each_written_once(ids, per_referral=1)
    # Exactly once by design, not by a constraint violation rolling back a whole batch.
    assert "raised unexpected" not in worker.log() + again.log()


@pytest.mark.worker
def test_flushall_redis_loses_no_escalation(
    processes: list[CeleryProcess], tmp_path: Path, world: World, team_manager: Any, dsl: Any
) -> None:
    interval = 2.0
    processes.append(start_celery("worker", "worker", tmp_path, interval=interval))
    processes.append(start_celery("beat", "beat", tmp_path, interval=interval))
    warm = _overdue(world, dsl, 5)
    wait_for(lambda: _escalated(warm) == 5, timeout=30)

    # Due now, and Redis loses every queued trigger, unacknowledged task and queue binding.
    due = _overdue(world, dsl, 100)
    client = redis.Redis(port=settings.TEST_REDIS_PORT)
    client.flushall()
    assert client.dbsize() == 0
    flushed = time.monotonic()
    wait_for(lambda: _escalated(due) == 100, timeout=30, interval=0.05)
    first = time.monotonic() - flushed

    # And later triggers still arrive: beat and worker recovered without a restart.
    later = _overdue(world, dsl, 100)
    made = time.monotonic()
    wait_for(lambda: _escalated(later) == 100, timeout=30, interval=0.05)
    second = time.monotonic() - made
    logger.info("after FLUSHALL: escalated in %.2f s, then %.2f s", first, second)

    assert first <= 2 * interval
    assert second <= 2 * interval
    _assert_each_written_once(due + later, per_referral=1)


@pytest.mark.worker
def test_three_beats_escalate_the_same_set_as_one(
    processes: list[CeleryProcess], tmp_path: Path, world: World, team_manager: Any, dsl: Any
) -> None:
    level_one = _overdue(world, dsl, 300)
    # Three hours late (an outage): still one rung, level 2 a rung interval after it fires.
    late = _overdue(world, dsl, 100, by=3 * 3600)
    not_due = _overdue(world, dsl, 100, by=-3600)
    decided = _overdue(world, dsl, 50, status=Referral.Status.DECIDED)
    everything = level_one + late + not_due + decided
    # What one beat makes: the ladder's rungs that are due, once each.
    expected = {(pk, Clock.ACKNOWLEDGE, 1) for pk in level_one + late}

    worker = start_celery("worker", "worker", tmp_path, concurrency=3)
    processes.append(worker)
    beats = [start_celery("beat", f"beat-{n}", tmp_path) for n in range(3)]
    processes.extend(beats)
    wait_for(lambda: _escalated(everything) >= len(expected), timeout=60)
    # Let all three beats keep sending sweeps until each has sent three (waited for, not slept:
    # on a loaded machine a beat's first triggers come late).
    wait_for(
        lambda: all(
            b.log().count("Sending due task referral-escalations-sweep") >= 3 for b in beats
        ),
        timeout=60,
    )
    assert _escalation_set(everything) == expected
    assert "raised unexpected" not in worker.log()
    _assert_each_written_once(level_one + late, per_referral=1)
    rung_interval = datetime.timedelta(minutes=world.northshire.escalation_level_two_after_minutes)
    for referral in Referral.objects.filter(pk__in=late).prefetch_related("escalations"):
        (fired,) = referral.escalations.all()
        # Level 2 is due a rung interval after level 1 fired (the sweep's run began a moment
        # before it wrote the escalation), not after the deadline three hours ago.
        assert referral.next_escalation_at is not None
        waits = referral.next_escalation_at - fired.created_at
        assert rung_interval - datetime.timedelta(seconds=10) < waits <= rung_interval


@pytest.mark.worker
def test_an_acknowledgement_that_commits_first_wins_over_the_sweep(
    processes: list[CeleryProcess],
    tmp_path: Path,
    world: World,
    team_manager: Any,
    social_worker: Any,
    dsl: Any,
) -> None:
    ids = _overdue(world, dsl, 2200)
    # Spread through the sweep's order (deadline, then id) and acknowledged from the back: the
    # sweep and the acknowledgements meet in the middle, where they contend for the same rows.
    targets = ids[::11][::-1]
    assert len(targets) == 200
    fillers = sorted(set(ids) - set(targets))
    after_ack: dict[int, set[int]] = {}

    def acknowledge(pk: int) -> None:
        try:
            referral_acknowledge(referral=Referral(pk=pk), user=social_worker)
            # Read after the commit: whatever escalation exists now came before it.
            after_ack[pk] = set(
                Escalation.objects.filter(referral_id=pk, clock=Clock.ACKNOWLEDGE).values_list(
                    "id", flat=True
                )
            )
        finally:
            connection.close()

    processes.append(start_celery("worker", "worker", tmp_path))
    processes.append(start_celery("beat", "beat", tmp_path))
    wait_for(lambda: _escalated(ids) > 0, timeout=30, interval=0.01)
    sweeping_when_acks_began = _escalated(ids) < len(ids)
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(acknowledge, targets))
    acks_took = time.monotonic() - began
    wait_for(lambda: _escalated(fillers) == len(fillers), timeout=120)
    time.sleep(2)  # more sweeps, which must leave the acknowledged referrals alone

    assert sweeping_when_acks_began, "the acknowledgements did not race the sweep"
    assert len(after_ack) == 200
    acknowledged = Referral.objects.filter(pk__in=targets, status=Referral.Status.ACKNOWLEDGED)
    assert acknowledged.count() == 200
    for pk in targets:
        now_there = set(Escalation.objects.filter(referral_id=pk).values_list("id", flat=True))
        assert now_there == after_ack[pk], f"referral {pk} escalated after its acknowledgement"
    beaten = sum(1 for pk in targets if after_ack[pk])
    logger.info(
        "%s of 200 escalated before their acknowledgement committed, the rest never; "
        "the acknowledgements took %.1f s",
        beaten,
        acks_took,
    )


@pytest.mark.worker
def test_dying_between_commit_and_sending_loses_no_notification(
    processes: list[CeleryProcess], tmp_path: Path, world: World, team_manager: Any, dsl: Any
) -> None:
    ids = _overdue(world, dsl, 20)
    script = (
        "import os, signal, django\n"
        "django.setup()\n"
        "from django.db import transaction\n"
        "from referrals.clocks.sweep import referral_escalations_sweep\n"
        "with transaction.atomic():\n"
        # Registered first, so it runs first after the commit: the process dies before the
        # relay is even asked to send.
        "    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))\n"
        "    referral_escalations_sweep()\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=celery_environment(tmp_path, 1),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert died.returncode == -9, died.stderr.decode()
    # The referrer's notices and the manager's digest of the run.
    notices = Notification.objects.filter(
        pk__in=Notification.objects.filter(
            Q(referral_id__in=ids) | Q(escalations__referral_id__in=ids)
        ).values("pk")
    )
    email_rows = notices.exclude(email_status=Notification.EmailStatus.NONE)
    emails = email_rows.count()
    assert _escalated(ids) == 20
    assert notices.filter(recipient=team_manager).count() == 1  # one digest for the 20
    assert emails > 0
    # In the app they are delivered by being stored; every email waits for the relay.
    assert set(notices.values_list("in_app", flat=True)) == {True}
    assert set(email_rows.values_list("email_status", flat=True)) == {"pending"}
    assert _mails(tmp_path) == 0

    processes.append(start_celery("worker", "worker", tmp_path))
    processes.append(start_celery("beat", "beat", tmp_path))
    wait_for(lambda: not email_rows.exclude(email_status="sent").exists(), timeout=30)
    wait_for(lambda: _mails(tmp_path) >= emails, timeout=10)
    time.sleep(2)
    assert _mails(tmp_path) == emails
    assert set(email_rows.values_list("email_attempts", "email_resent")) == {(1, 0)}


@pytest.mark.worker
def test_a_relay_killed_while_sending_leaves_the_notification_to_the_next(
    processes: list[CeleryProcess], tmp_path: Path
) -> None:
    # A mail server that takes the connection and never answers: the send hangs.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    hanging = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(silent.getsockname()[1]),
        "EMAIL_TIMEOUT": "120",
    }
    try:
        worker = start_celery("worker", "worker", tmp_path, env=hanging)
        processes.append(worker)
        processes.append(start_celery("beat", "beat", tmp_path))
        notice = factories.NotificationFactory.create()
        rows = Notification.objects.filter(pk=notice.pk)
        wait_for(lambda: rows.filter(email_status="sending").exists(), timeout=30)
        worker.kill()
    finally:
        silent.close()
    assert _mails(tmp_path) == 0

    # Another worker takes the stale claim (5 s in these tests) and sends it, once. The dead
    # worker's attempt counts, and taking it over is recorded: nobody knows whether it sent.
    processes.append(start_celery("worker", "worker-again", tmp_path))
    wait_for(lambda: rows.filter(email_status="sent").exists(), timeout=30)
    time.sleep(2)
    notice.refresh_from_db()
    assert (notice.email_attempts, notice.email_resent) == (2, 1)
    assert _mails(tmp_path) == 1
