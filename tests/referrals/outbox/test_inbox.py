"""Notifications people read: which notices are emailed, the person's page, read state, choices."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from referrals.casework.sharing import referral_share
from referrals.casework.triage import referral_decide, referral_request_information
from referrals.concerns.services import concern_create
from referrals.core.choices import Urgency
from referrals.models import (
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from referrals.outbox.inbox import email_preferences_set
from referrals.outbox.relay import notifications_relay
from tests import factories
from tests.conftest import World, _member, signed_in

pytestmark = pytest.mark.django_db

EMAIL = Notification.Channel.EMAIL
IN_APP = Notification.Channel.IN_APP


def _rows(kind: str) -> set[tuple[int, str]]:
    """Who is told of this kind, on which channels (each person has one row for both)."""
    rows = Notification.objects.filter(kind=kind).values_list(
        "recipient_id", "in_app", "email_status"
    )
    told: set[tuple[int, str]] = set()
    for person, in_app, email in rows:
        told |= {(person, IN_APP)} if in_app else set()
        told |= {(person, EMAIL)} if email != Notification.EmailStatus.NONE else set()
    return told


def _concern(world: World, teacher: Any, urgency: str) -> Any:
    child = factories.ChildFactory.create(created_by_agency=world.riverside, first_name="Zed")
    return concern_create(
        user=teacher,
        agency=world.riverside,
        child=child,
        urgency=urgency,
        observed_at=timezone.now(),
        what_happened="Bruise on the arm.",
    )


def test_a_straight_away_concern_emails_every_lead_and_deputy_of_the_school_at_once(
    world: World, teacher: Any, dsl: Any, other_school_dsl: Any
) -> None:
    deputy = _member(world.riverside, "deputy_dsl")
    # Urgent notices are not optional: a lead who turned email off for them still gets one.
    NotificationPreference.objects.create(
        user=deputy, kind=NotificationKind.CONCERN_URGENT, email=False
    )
    concern = _concern(world, teacher, Urgency.IMMEDIATE)
    expected = {(p.pk, channel) for p in (dsl, deputy) for channel in (EMAIL, IN_APP)}
    assert _rows(NotificationKind.CONCERN_URGENT) == expected
    # One row per person and message, with both channels on it.
    assert Notification.objects.count() == 2
    assert set(Notification.objects.values_list("concern_id", flat=True)) == {concern.pk}
    # The relay sends them; each email links to the concern (ids only), never names the child.
    assert notifications_relay() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([dsl.email, deputy.email])
    for message in mail.outbox:
        assert f"/concerns/{concern.pk}/" in message.body
        assert "Zed" not in message.body
        assert "Zed" not in message.subject


def test_a_routine_concern_is_in_the_app_only_unless_the_lead_asks_for_email(
    world: World, teacher: Any, dsl: Any
) -> None:
    _concern(world, teacher, Urgency.STANDARD)
    assert _rows(NotificationKind.CONCERN_NEW) == {(dsl.pk, IN_APP)}
    email_preferences_set(user=dsl, emailed=[NotificationKind.CONCERN_NEW])
    Notification.objects.all().delete()
    _concern(world, teacher, Urgency.URGENT)
    assert _rows(NotificationKind.CONCERN_NEW) == {(dsl.pk, IN_APP), (dsl.pk, EMAIL)}


def test_a_question_an_outcome_and_a_share_are_emailed_unless_turned_off(
    world: World, dsl: Any, social_worker: Any, partner: Any
) -> None:
    referral = factories.AcknowledgedReferralFactory.create(
        referring_agency=world.riverside,
        referrer=dsl,
        local_authority=world.northshire,
        team=world.front_door,
        owner=social_worker,
    )
    referral_request_information(referral=referral, user=social_worker, message="Siblings?")
    assert (dsl.pk, EMAIL) in _rows(NotificationKind.QUESTION)
    referral_share(
        referral=referral,
        user=social_worker,
        agency=world.health,
        reason="Joint visit.",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    assert {(partner.pk, IN_APP), (partner.pk, EMAIL)} <= _rows(NotificationKind.SHARED)
    email_preferences_set(user=dsl, emailed=[])
    referral.refresh_from_db()
    referral.status = "acknowledged"
    referral.save(update_fields=["status"])
    referral_decide(
        referral=referral,
        user=social_worker,
        outcome="nfa",
        rationale="Universal services meet the need.",
        feedback="Thank you; no further action.",
    )
    assert _rows(NotificationKind.OUTCOME) >= {(dsl.pk, IN_APP)}
    assert (dsl.pk, EMAIL) not in _rows(NotificationKind.OUTCOME)


def test_the_notifications_page_lists_only_the_persons_own_newest_first_and_marks_read(
    client: Client, world: World, teacher: Any, dsl: Any, other_school_dsl: Any
) -> None:
    first = _concern(world, teacher, Urgency.STANDARD)
    second = _concern(world, teacher, Urgency.IMMEDIATE)
    signed_in(client, dsl)
    page = client.get("/notifications/").content.decode()
    assert page.count("data-row") == 2
    assert page.index("needs you straight away") < page.index("needs your review")
    assert page.count(">Unread<") == 2
    # The header's count links to the page.
    header = r'href="/notifications/" id="nav-notifications">Notifications <strong[^>]*>2'
    assert re.search(header, page)
    mine = Notification.objects.get(recipient=dsl, in_app=True, concern=second)
    before = AuditEvent.objects.count()
    response = client.get(f"/notifications/{mine.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/concerns/{second.pk}/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert AuditEvent.objects.count() > before  # the read is a write, audited
    assert client.get("/notifications/").content.decode().count(">Unread<") == 1
    # Somebody else's notification is not found, and stays unread.
    theirs = factories.NotificationFactory.create(recipient=other_school_dsl, in_app_only=True)
    assert client.get(f"/notifications/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    # Marking all read is a POST, and leaves nothing unread.
    assert client.get("/notifications/read/").status_code == 405
    assert client.post("/notifications/read/").status_code == 302
    assert not Notification.objects.filter(recipient=dsl, read_at__isnull=True, in_app=True)
    assert Notification.objects.filter(pk=theirs.pk, read_at__isnull=True).exists()
    assert first.pk  # both concerns listed above


def test_email_choices_offer_only_optional_kinds_and_are_kept(client: Client, dsl: Any) -> None:
    signed_in(client, dsl)
    page = client.get("/notifications/email/").content.decode()
    assert 'value="outcome" checked' in page
    assert 'value="concern_urgent"' not in page
    assert 'value="escalation"' not in page
    response = client.post("/notifications/email/", {"emailed": ["question"]})
    assert response.status_code == 302
    chosen = dict(NotificationPreference.objects.filter(user=dsl).values_list("kind", "email"))
    assert chosen["question"] is True
    assert chosen["outcome"] is False
    assert "concern_urgent" not in chosen
    # A kind that is not optional cannot be chosen away by posting it.
    bad = client.post("/notifications/email/", {"emailed": ["nonsense"]})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()


def test_opening_the_record_from_the_email_reads_every_notice_about_it(
    client: Client, world: World, teacher: Any, dsl: Any
) -> None:
    concern = _concern(world, teacher, Urgency.IMMEDIATE)
    other = _concern(world, teacher, Urgency.STANDARD)
    signed_in(client, dsl)
    assert client.get(f"/concerns/{concern.pk}/").status_code == 200
    unread = Notification.objects.filter(recipient=dsl, in_app=True, read_at__isnull=True)
    assert list(unread.values_list("concern_id", flat=True)) == [other.pk]
