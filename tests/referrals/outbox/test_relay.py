"""The notification relay: compare-and-swap claims, retries with backoff, failures in admin."""

from __future__ import annotations

import datetime
import socket
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

from referrals.models import AuditAction, AuditEvent, Notification
from referrals.outbox.relay import RELAY_MAX_ATTEMPTS, notifications_relay
from tests import factories


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable_mail_server() -> Any:
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=_closed_port(),
        EMAIL_TIMEOUT=2,
    ):
        yield


@pytest.mark.django_db
def test_it_sends_each_due_notification_once() -> None:
    factories.NotificationFactory.create_batch(3)
    assert notifications_relay() == 3
    assert notifications_relay() == 0
    assert len(mail.outbox) == 3
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_a_claim_in_progress_is_left_to_its_owner() -> None:
    notice = factories.NotificationFactory.create(
        status=Notification.Status.SENDING, claimed_at=timezone.now()
    )
    assert notifications_relay() == 0
    notice.refresh_from_db()
    assert notice.status == Notification.Status.SENDING
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_claim_older_than_the_timeout_belongs_to_a_dead_worker_and_is_taken_again() -> None:
    notice = factories.NotificationFactory.create(
        status=Notification.Status.SENDING,
        claimed_at=timezone.now() - datetime.timedelta(minutes=6),
    )
    assert notifications_relay() == 1
    notice.refresh_from_db()
    assert notice.status == Notification.Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("unreachable_mail_server")
def test_failures_retry_with_backoff_then_show_as_failed() -> None:
    notice = factories.NotificationFactory.create()
    waits = []
    for attempt in range(1, RELAY_MAX_ATTEMPTS + 1):
        with time_machine.travel(notice.next_attempt_at, tick=False):
            assert notifications_relay() == 0
            notice.refresh_from_db()
            assert notice.attempts == attempt
            assert notice.last_error == "ConnectionRefusedError"
            assert notice.claimed_at is None
            waits.append(notice.next_attempt_at - timezone.now())
    assert notice.status == Notification.Status.FAILED
    assert waits[:3] == [datetime.timedelta(seconds=s) for s in (30, 60, 120)]
    with time_machine.travel(notice.next_attempt_at + datetime.timedelta(days=1)):
        assert notifications_relay() == 0  # failed is final until someone retries


@pytest.mark.django_db
@override_settings(REQUIRE_MFA=False)
def test_an_operator_sends_failed_notifications_again_from_the_admin() -> None:
    failed = factories.NotificationFactory.create(
        status=Notification.Status.FAILED, attempts=RELAY_MAX_ATTEMPTS, last_error="SMTPException"
    )
    operator = factories.UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/referrals/notification/?status__exact=failed")
    assert "SMTPException" in listing.content.decode()
    client.post(
        "/admin/referrals/notification/",
        {"action": "send_again", "_selected_action": [failed.pk]},
    )
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Notification.Status.PENDING, 0)
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, target_type="referrals.notification", actor=operator
    ).exists()
    assert notifications_relay() == 1
