"""The incremental feed stays complete while other transactions write and commit out of order."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction

from referrals.models import Referral
from tests import factories
from tests.conftest import World
from tests.referrals.api.conftest import ApiClient


def _pull_all(api: ApiClient, cursor: str | None, copy: dict[int, Any], seen: set[Any]) -> str:
    """Pull pages until one comes back empty; apply each version to `copy`."""
    while True:
        params = {"page_size": 25, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/referrals/", params).json()
        cursor = body["next_cursor"]
        for row in body["results"]:
            version = (row["id"], row["updated_at"])
            assert version not in seen, "the same version was served twice"
            seen.add(version)
            copy[row["id"]] = (row["updated_at"], row["escalation_level"])
        if not body["results"]:
            assert cursor is not None
            return cursor


def _bump(pk: int, hold: float) -> None:
    """Change a referral, holding the transaction open a while so commits come out of order."""
    with transaction.atomic():
        referral = Referral.objects.select_for_update().get(pk=pk)
        referral.escalation_level += 1
        referral.save(update_fields=["escalation_level", "updated_at"])
        time.sleep(hold)


@pytest.mark.django_db(transaction=True)
def test_a_client_that_keeps_its_cursor_ends_with_the_database(
    world: World, northshire_api: ApiClient
) -> None:
    referrals = [
        factories.SubmittedReferralFactory.create(
            referring_agency=world.riverside,
            child__created_by_agency=world.riverside,
            team=world.front_door,
        )
        for _ in range(60)
    ]
    ids = [r.pk for r in referrals]
    stop = threading.Event()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                _bump(rng.choice(ids), hold=rng.uniform(0, 0.03))
        finally:
            close_old_connections()
            connection.close()

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    for thread in writers:
        thread.start()
    copy: dict[int, Any] = {}
    seen: set[Any] = set()
    cursor = None
    try:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            cursor = _pull_all(northshire_api, cursor, copy, seen)
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    _pull_all(northshire_api, cursor, copy, seen)

    database = {
        r.pk: (r.updated_at.isoformat().replace("+00:00", "Z"), r.escalation_level)
        for r in Referral.objects.filter(pk__in=ids)
    }
    normalised = {pk: (stamp.replace("+00:00", "Z"), level) for pk, (stamp, level) in copy.items()}
    assert sum(level for _, level in database.values()) > 20, "the writers barely ran"
    assert normalised == database


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_commits_late_is_not_skipped(
    world: World, northshire_api: ApiClient
) -> None:
    early, late = (
        factories.SubmittedReferralFactory.create(
            referring_agency=world.riverside,
            child__created_by_agency=world.riverside,
            team=world.front_door,
        )
        for _ in range(2)
    )
    cursor = _pull_all(northshire_api, None, {}, set())
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                referral = Referral.objects.select_for_update().get(pk=early.pk)
                referral.escalation_level = 1
                referral.save(update_fields=["escalation_level", "updated_at"])
                written.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(10)
        # A later change commits first.
        late.escalation_level = 1
        late.save(update_fields=["escalation_level", "updated_at"])
        copy: dict[int, Any] = {}
        cursor = _pull_all(northshire_api, cursor, copy, set())
        assert copy == {}, "served a change stamped after a transaction still open"
    finally:
        release.set()
        thread.join()
    copy = {}
    _pull_all(northshire_api, cursor, copy, set())
    assert set(copy) == {early.pk, late.pk}
