"""The audit trail is append-only in PostgreSQL and hash-chained; audit_verify finds breaks."""

from __future__ import annotations

import itertools
import json
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from referrals.audit import (
    ANCHOR_TASK,
    GENESIS_HASH,
    audit_anchor_task,
    audit_anchor_write,
    audit_record,
)
from referrals.models import AuditAction, AuditEvent

TRIGGER = "referrals_auditevent_append_only"


def _verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=out)
    return out.getvalue()


def _events(user: Any, count: int) -> list[AuditEvent]:
    return [
        audit_record(actor=user, action=AuditAction.VIEW, target=user, data={"n": n})
        for n in range(count)
    ]


def test_it_chains_each_event_to_the_one_before(teacher: Any) -> None:
    _events(teacher, 3)
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) == 3
    assert events[0].previous_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.previous_hash == before.hash
    assert "intact" in _verify()


def test_postgresql_refuses_to_change_or_delete_an_event(teacher: Any) -> None:
    event = _events(teacher, 1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.CREATE)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.VIEW


def _behind_the_applications_back(sql: str, params: list[Any]) -> None:
    """What an attacker with the database owner's rights can do: switch the trigger off."""
    with connection.cursor() as cursor:
        # The test's own transaction still holds deferred foreign-key checks on the table.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE referrals_auditevent DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE referrals_auditevent ENABLE TRIGGER {TRIGGER}")


def test_audit_verify_detects_an_event_altered_behind_the_applications_back(
    teacher: Any, dsl: Any
) -> None:
    events = _events(teacher, 3)
    assert "intact" in _verify()
    # Make the read look like someone else's: the chain's own fields are left untouched.
    _behind_the_applications_back(
        "UPDATE referrals_auditevent SET actor_id = %s WHERE id = %s", [dsl.pk, events[1].pk]
    )
    with pytest.raises(CommandError, match="broken in 1 place"):
        _verify()


def test_audit_verify_detects_a_removed_event(teacher: Any) -> None:
    events = _events(teacher, 3)
    _behind_the_applications_back("DELETE FROM referrals_auditevent WHERE id = %s", [events[1].pk])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=out, stderr=out)
    assert f"audit event {events[2].pk}: does not follow" in out.getvalue()


def test_audit_verify_detects_a_rebuilt_hash_without_the_key(teacher: Any) -> None:
    """Recomputing a plain SHA-256 over the edited row does not help: the hash is keyed."""
    events = _events(teacher, 2)
    _behind_the_applications_back(
        "UPDATE referrals_auditevent SET data = '{}', hash = encode(sha256('x'), 'hex') "
        "WHERE id = %s",
        [events[0].pk],
    )
    with pytest.raises(CommandError):
        _verify()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_still_make_one_chain(world: Any) -> None:
    from tests import factories

    users = [factories.UserFactory.create() for _ in range(6)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(users))

    def write(user: Any) -> None:
        try:
            start.wait()
            for n in range(15):
                with transaction.atomic():
                    audit_record(actor=user, action=AuditAction.VIEW, target=user, data={"n": n})
                    if n % 5 == 0:
                        # A writer that rolls back leaves no hole in the chain.
                        audit_record(actor=user, action=AuditAction.LIST, target=user)
                        transaction.set_rollback(True)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Every fifth transaction rolled back, its view with it.
    assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == 6 * 12
    assert not AuditEvent.objects.filter(action=AuditAction.LIST).exists()
    assert "intact" in _verify()


# The anchor: the head, signed and written outside the database ---------------------------------


def test_a_cut_tail_is_caught_by_the_last_anchor(teacher: Any, settings: Any) -> None:
    events = _events(teacher, 4)
    anchor = audit_anchor_write()
    assert anchor is not None
    assert anchor.event_id == events[-1].pk
    assert "holds the anchor" in _verify()
    # Cutting the last two events leaves a chain that is valid in itself...
    _behind_the_applications_back("DELETE FROM referrals_auditevent WHERE id >= %s", [events[2].pk])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=out, stderr=out)
    # ...but the event anchored outside the database is gone.
    assert f"event {events[-1].pk}" in out.getvalue()
    assert "was cut" in out.getvalue()


def test_an_anchor_not_signed_by_the_service_is_refused(teacher: Any, settings: Any) -> None:
    _events(teacher, 2)
    audit_anchor_write()
    path = Path(settings.AUDIT_ANCHOR_FILE)
    forged = json.loads(path.read_text().splitlines()[-1]) | {"hash": "0" * 64}
    path.write_text(json.dumps(forged) + "\n")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=out, stderr=out)
    assert "signature does not match" in out.getvalue()


def test_anchors_are_appended_and_beat_writes_them(teacher: Any, settings: Any) -> None:
    _events(teacher, 1)
    first = audit_anchor_write()
    _events(teacher, 1)
    second = audit_anchor_write()
    assert first is not None
    assert second is not None
    lines = Path(settings.AUDIT_ANCHOR_FILE).read_text().splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [first.event_id, second.event_id]
    assert audit_anchor_task.name == ANCHOR_TASK
    assert settings.CELERY_BEAT_SCHEDULE["audit-anchor"]["task"] == ANCHOR_TASK
