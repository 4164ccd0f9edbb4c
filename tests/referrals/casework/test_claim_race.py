"""Two social workers claim the same referral at the same moment: one owner, one clear message.

Real concurrent transactions: each thread has its own database connection and goes through
the page (the view, the service and its row lock), against PostgreSQL.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from referrals.casework.triage import referral_claim
from referrals.core import errors
from referrals.models import AuditAction, AuditEvent, Referral, ReferralEvent
from tests import factories
from tests.conftest import World, signed_in, wait_for

ALREADY_CLAIMED = errors.REFERRAL_ALREADY_CLAIMED


def _colleague(world: World) -> Any:
    user = factories.UserFactory.create(email="sw2@northshire.test")
    factories.MembershipFactory.create(
        user=user, agency=world.north_csc, team=world.front_door, role="social_worker"
    )
    return user


def _referral(world: World) -> Referral:
    return factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside,
        team=world.front_door,
        child__created_by_agency=world.riverside,
    )


def _claim(client: Client, referral: Referral, barrier: threading.Barrier | None) -> str:
    """POST the claim from this thread's own connection; return the page's banner text."""
    try:
        if barrier is not None:
            barrier.wait(timeout=10)
        response = client.post(f"/referrals/{referral.pk}/claim/", follow=True)
        assert response.status_code == 200
        return response.content.decode()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_claims_at_the_same_moment_give_one_owner_and_one_clear_message(
    world: World, social_worker: Any
) -> None:
    colleague = _colleague(world)
    referral = _referral(world)
    clients = {
        social_worker: signed_in(Client(), social_worker),
        colleague: signed_in(Client(), colleague),
    }
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pages = dict(
            zip(
                clients,
                pool.map(lambda c: _claim(c, referral, barrier), clients.values()),
                strict=True,
            )
        )
    referral.refresh_from_db()
    assert referral.owner is not None
    assert referral.owner in clients
    loser = next(person for person in clients if person != referral.owner)
    assert f"You own referral #{referral.pk} now." in pages[referral.owner]
    assert ALREADY_CLAIMED in pages[loser]
    assert ALREADY_CLAIMED not in pages[referral.owner]
    assert referral.events.filter(kind=ReferralEvent.Kind.CLAIMED).count() == 1
    claims = AuditEvent.objects.filter(action=AuditAction.CLAIM, target_id=str(referral.pk))
    assert list(claims.values_list("actor", flat=True)) == [referral.owner.pk]


@pytest.mark.django_db(transaction=True)
def test_a_claim_waits_for_the_row_lock_and_then_sees_the_first_owner(
    world: World, social_worker: Any
) -> None:
    """Deterministic: the first claim holds its lock while the second one is already waiting."""
    colleague = _colleague(world)
    referral = _referral(world)
    second = signed_in(Client(), colleague)
    release = threading.Event()
    claimed = threading.Event()

    def first_claim() -> None:
        try:
            with transaction.atomic():
                referral_claim(referral=referral, user=social_worker)
                claimed.set()
                release.wait(timeout=10)  # hold the row lock until the second claim waits
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(first_claim)
        assert claimed.wait(timeout=10)
        waiting = pool.submit(_claim, second, referral, None)

        def blocked_on_the_lock() -> bool:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                return bool(cursor.fetchone()[0])

        wait_for(blocked_on_the_lock, timeout=10)
        release.set()
        holder.result(timeout=10)
        page = waiting.result(timeout=10)
    referral.refresh_from_db()
    assert referral.owner == social_worker
    assert ALREADY_CLAIMED in page
    assert referral.events.filter(kind=ReferralEvent.Kind.CLAIMED).count() == 1
