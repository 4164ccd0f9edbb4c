"""Drafts carry the form's own count of its saves: a late, lower save changes nothing, and of
two saves at once the higher one is what stays (real PostgreSQL row locks). A draft made into a
record or deleted is closed, not deleted: a late save finds it closed and changes nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from referrals.concerns.drafts import (
    DraftChanged,
    draft_discard,
    draft_hold,
    draft_save,
    drafts_discard_for,
)
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, AuditEvent, Child, Draft
from referrals.visibility import draft_get_for_user, draft_list_for_user, draft_version_for
from tests import factories
from tests.conftest import World, wait_for

KIND = Draft.Kind.REFERRAL


@pytest.fixture
def child(world: World) -> Child:
    return factories.ChildFactory.create(created_by_agency=world.riverside)


def _save(user: Any, world: World, child: Child, text: str, version: int) -> Draft:
    return draft_save(
        user=user,
        agency=world.riverside,
        child=child,
        kind=KIND,
        payload={"reason": [text]},
        version=version,
    )


def _draft_rows() -> list[tuple[str, dict[str, Any]]]:
    events = AuditEvent.objects.filter(target_type="referrals.draft").order_by("id")
    return [(e.action, e.data) for e in events]


def test_it_stores_the_payload_at_the_version_sent(world: World, dsl: Any, child: Child) -> None:
    draft = _save(dsl, world, child, "First", 3)
    assert (draft.payload, draft.version) == ({"reason": ["First"]}, 3)
    draft = _save(dsl, world, child, "Second", 7)
    draft.refresh_from_db()
    assert (draft.payload, draft.version) == ({"reason": ["Second"]}, 7)
    assert [action for action, _ in _draft_rows()] == [AuditAction.CREATE, AuditAction.UPDATE]
    assert _draft_rows()[-1][1] == {"kind": KIND, "child": child.pk, "version": 7}


def test_a_lower_version_changes_nothing_and_writes_no_audit_row(
    world: World, dsl: Any, child: Child
) -> None:
    _save(dsl, world, child, "Final answers", 5)
    rows = _draft_rows()
    with pytest.raises(DraftChanged) as refused:
        _save(dsl, world, child, "An older autosave", 4)
    assert (refused.value.message, refused.value.code) == (
        errors.DRAFT_CHANGED_ELSEWHERE,
        "conflict",
    )
    assert refused.value.version == 5
    draft = Draft.objects.get()
    assert (draft.payload, draft.version) == ({"reason": ["Final answers"]}, 5)
    assert _draft_rows() == rows


def test_the_same_version_with_new_answers_is_stored_one_higher(
    world: World, dsl: Any, child: Child
) -> None:
    """A form posted without its script sends the version it was shown: each change still
    gets a number of its own, so a version names one set of answers."""
    _save(dsl, world, child, "Shown", 4)
    draft = _save(dsl, world, child, "Changed without the script", 4)
    assert (draft.payload, draft.version) == ({"reason": ["Changed without the script"]}, 5)


def test_unchanged_answers_write_nothing(world: World, dsl: Any, child: Child) -> None:
    _save(dsl, world, child, "Same", 2)
    draft = _save(dsl, world, child, "Same", 9)
    assert draft.version == 2
    assert [action for action, _ in _draft_rows()] == [AuditAction.CREATE]


@pytest.mark.parametrize("version", [-1, 2**31 - 1, 2**40])
def test_a_version_out_of_range_is_refused(
    world: World, dsl: Any, child: Child, version: int
) -> None:
    with pytest.raises(ApplicationError) as refused:
        _save(dsl, world, child, "Text", version)
    assert refused.value.message == errors.DRAFT_VERSION_INVALID
    assert not Draft.objects.exists()
    assert not _draft_rows()


def test_holding_a_draft_locks_its_row_only_at_that_version(
    world: World, dsl: Any, teacher: Any, child: Child
) -> None:
    draft = _save(dsl, world, child, "Checked", 6)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        held = draft_hold(user=dsl, kind=KIND, child=child, draft_id=draft.pk, version=6)
    assert held
    assert any("FOR UPDATE" in query["sql"] for query in captured.captured_queries)
    with transaction.atomic():
        assert not draft_hold(user=dsl, kind=KIND, child=child, draft_id=draft.pk, version=5)
        assert not draft_hold(user=teacher, kind=KIND, child=child, draft_id=draft.pk, version=6)


def _blocked_on_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_late_save_waits_for_the_newer_one_and_then_changes_nothing(
    world: World, dsl: Any, child: Child
) -> None:
    """Deterministic: the newer save holds the row while the older one is already waiting."""
    _save(dsl, world, child, "Typed", 3)
    release = threading.Event()
    saved = threading.Event()

    def newer() -> None:
        try:
            with transaction.atomic():
                _save(dsl, world, child, "Posted", 5)
                saved.set()
                release.wait(timeout=10)  # hold the row until the older save waits for it
        finally:
            connection.close()

    def older() -> str:
        try:
            _save(dsl, world, child, "In flight", 4)
        except DraftChanged as exc:
            return exc.code
        finally:
            connection.close()
        return "saved"

    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(newer)
        assert saved.wait(timeout=10)
        waiting = pool.submit(older)
        wait_for(_blocked_on_a_lock, timeout=10)
        release.set()
        holder.result(timeout=10)
        assert waiting.result(timeout=10) == "conflict"
    draft = Draft.objects.get()
    assert (draft.payload, draft.version) == ({"reason": ["Posted"]}, 5)
    assert [data["version"] for _, data in _draft_rows()] == [3, 5]


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_the_same_moment_leave_the_higher_one(
    world: World, dsl: Any, child: Child
) -> None:
    _save(dsl, world, child, "Typed", 1)
    barrier = threading.Barrier(2)

    def save(text: str, version: int) -> None:
        try:
            barrier.wait(timeout=10)
            _save(dsl, world, child, text, version)
        except DraftChanged:
            pass
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(save, "Lower", 2), pool.submit(save, "Higher", 3)]
        for future in done:
            future.result(timeout=20)
    draft = Draft.objects.get()
    assert (draft.payload, draft.version) == ({"reason": ["Higher"]}, 3)


# Closed drafts: made into a record, or deleted -------------------------------------------------


def test_a_closed_draft_refuses_its_own_version_and_lower_and_a_higher_one_reopens_it(
    world: World, dsl: Any, child: Child
) -> None:
    draft = _save(dsl, world, child, "Sent", 5)
    drafts_discard_for(user=dsl, kind=KIND, child=child)
    draft.refresh_from_db()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 5, True)
    assert draft_version_for(user=dsl, kind=KIND, child=child) == 6
    assert draft_get_for_user(user=dsl, kind=KIND, child=child) is None
    assert not draft_list_for_user(user=dsl).exists()
    rows = _draft_rows()
    for version in (4, 5):
        with pytest.raises(DraftChanged) as refused:
            _save(dsl, world, child, "Late", version)
        assert (refused.value.message, refused.value.code) == (errors.DRAFT_CLOSED, "conflict")
        assert refused.value.version == 6  # what a page carries to save over it
    draft.refresh_from_db()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 5, True)
    assert _draft_rows() == rows
    with transaction.atomic():
        assert not draft_hold(user=dsl, kind=KIND, child=child, draft_id=draft.pk, version=5)
    reopened = _save(dsl, world, child, "A new form", 6)
    assert (reopened.pk, reopened.payload, reopened.version) == (
        draft.pk,
        {"reason": ["A new form"]},
        6,
    )
    assert reopened.closed_at is None
    assert _draft_rows()[-1] == (
        AuditAction.UPDATE,
        {"kind": KIND, "child": child.pk, "version": 6, "reopened": True},
    )
    assert draft_version_for(user=dsl, kind=KIND, child=child) == 6


def test_closing_keeps_the_higher_of_the_stored_and_the_posted_version(
    world: World, dsl: Any, child: Child
) -> None:
    _save(dsl, world, child, "Typed", 3)
    drafts_discard_for(user=dsl, kind=KIND, child=child, agency=world.riverside, version=9)
    assert Draft.objects.values_list("version", flat=True).get() == 9
    drafts_discard_for(user=dsl, kind=KIND, child=child, agency=world.riverside, version=2)
    assert Draft.objects.values_list("version", flat=True).get() == 9
    # A version out of range is ignored, never stored.
    drafts_discard_for(user=dsl, kind=KIND, child=child, agency=world.riverside, version=2**40)
    assert Draft.objects.values_list("version", flat=True).get() == 9
    assert [data["version"] for _, data in _draft_rows()] == [3, 9]


def test_the_person_deleting_a_draft_closes_it_once(world: World, dsl: Any, child: Child) -> None:
    draft = _save(dsl, world, child, "Thrown away", 2)
    draft_discard(user=dsl, draft=draft)
    draft_discard(user=dsl, draft=draft)  # twice at once: the second finds it closed
    draft.refresh_from_db()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 2, True)
    assert _draft_rows()[1:] == [
        (AuditAction.UPDATE, {"kind": KIND, "child": child.pk, "version": 2, "discarded": True})
    ]


def test_without_a_draft_there_is_no_version_and_nothing_to_close(
    world: World, dsl: Any, child: Child
) -> None:
    assert draft_version_for(user=dsl, kind=KIND, child=child) == 0
    drafts_discard_for(user=dsl, kind=KIND, child=child)  # the API: no form, no draft
    drafts_discard_for(user=dsl, kind=KIND, child=child, agency=world.riverside, version=0)
    assert not Draft.objects.exists()
    assert not _draft_rows()


@pytest.mark.django_db(transaction=True)
def test_a_late_save_waiting_for_the_send_finds_the_draft_closed(
    world: World, dsl: Any, child: Child
) -> None:
    """Deterministic: the send holds the row and closes it while the late save already waits
    for it (the existing row lock); the late save is then refused and nothing is reopened."""
    _save(dsl, world, child, "Checked", 5)
    release = threading.Event()
    closed = threading.Event()

    def send() -> None:
        try:
            with transaction.atomic():
                draft = Draft.objects.get()
                assert draft_hold(user=dsl, kind=KIND, child=child, draft_id=draft.pk, version=5)
                drafts_discard_for(user=dsl, kind=KIND, child=child)
                closed.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    def late() -> str:
        try:
            _save(dsl, world, child, "In flight", 4)
        except DraftChanged as exc:
            return exc.message
        finally:
            connection.close()
        return "saved"

    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(send)
        assert closed.wait(timeout=10)
        waiting = pool.submit(late)
        wait_for(_blocked_on_a_lock, timeout=10)
        release.set()
        holder.result(timeout=10)
        assert waiting.result(timeout=10) == errors.DRAFT_CLOSED
    draft = Draft.objects.get()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 5, True)
