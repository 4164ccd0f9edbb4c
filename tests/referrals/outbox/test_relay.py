"""The notification relay: compare-and-swap claims, retries with backoff, failures in admin."""

from __future__ import annotations

import datetime
import re
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem
from django.test import Client, override_settings
from django.utils import timezone

from referrals.models import AuditAction, AuditEvent, Notification
from referrals.outbox.relay import (
    CLAIM_EXPIRED,
    RELAY_MAX_ATTEMPTS,
    message_id,
    notifications_relay,
)
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
    assert set(Notification.objects.values_list("email_status", "email_attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_a_claim_in_progress_is_left_to_its_owner() -> None:
    notice = factories.NotificationFactory.create(
        email_status=Notification.EmailStatus.SENDING, email_claimed_at=timezone.now()
    )
    assert notifications_relay() == 0
    notice.refresh_from_db()
    assert notice.email_status == Notification.EmailStatus.SENDING
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_claim_older_than_the_timeout_belongs_to_a_dead_worker_and_is_taken_again() -> None:
    notice = factories.NotificationFactory.create(
        email_status=Notification.EmailStatus.SENDING,
        email_claimed_at=timezone.now() - datetime.timedelta(minutes=6),
        email_attempts=1,
    )
    assert notifications_relay() == 1
    notice.refresh_from_db()
    assert notice.email_status == Notification.EmailStatus.SENT
    assert (notice.email_attempts, notice.email_resent) == (2, 1)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("unreachable_mail_server")
def test_failures_retry_with_backoff_then_show_as_failed() -> None:
    notice = factories.NotificationFactory.create()
    waits = []
    for attempt in range(1, RELAY_MAX_ATTEMPTS + 1):
        with time_machine.travel(notice.email_next_attempt_at, tick=False):
            assert notifications_relay() == 0
            notice.refresh_from_db()
            assert notice.email_attempts == attempt
            assert notice.email_last_error == "ConnectionRefusedError"
            assert notice.email_claimed_at is None
            waits.append(notice.email_next_attempt_at - timezone.now())
    assert notice.email_status == Notification.EmailStatus.FAILED
    assert notice.email_resent == 0  # every attempt's outcome was known
    assert waits[:3] == [datetime.timedelta(seconds=s) for s in (30, 60, 120)]
    with time_machine.travel(notice.email_next_attempt_at + datetime.timedelta(days=1)):
        assert notifications_relay() == 0  # failed is final until someone retries


@pytest.mark.django_db
@override_settings(REQUIRE_MFA=False)
def test_an_operator_sends_failed_notifications_again_from_the_admin() -> None:
    failed = factories.NotificationFactory.create(
        email_status=Notification.EmailStatus.FAILED,
        email_attempts=RELAY_MAX_ATTEMPTS,
        email_last_error="SMTPException",
    )
    operator = factories.UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/referrals/notification/?email_status__exact=failed")
    assert "SMTPException" in listing.content.decode()
    client.post(
        "/admin/referrals/notification/",
        {"action": "send_again", "_selected_action": [failed.pk]},
    )
    failed.refresh_from_db()
    assert (failed.email_status, failed.email_attempts) == (Notification.EmailStatus.PENDING, 0)
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, target_type="referrals.notification", actor=operator
    ).exists()
    assert notifications_relay() == 1


class DiesAfterSending(locmem.EmailBackend):
    """The mail server takes the message, and the relay's process dies before it can say so."""

    def send_messages(self, messages: Any) -> int:
        super().send_messages(messages)
        raise SystemExit(9)


@pytest.mark.django_db
@override_settings(REQUIRE_MFA=False)
def test_a_resend_after_an_unconfirmed_attempt_is_recorded_and_carries_the_same_message_id() -> (
    None
):
    notice = factories.NotificationFactory.create()
    started = timezone.now()
    with (
        time_machine.travel(started, tick=False),
        override_settings(EMAIL_BACKEND=f"{__name__}.DiesAfterSending"),
        pytest.raises(SystemExit),
    ):
        notifications_relay()
    notice.refresh_from_db()
    assert (notice.email_status, notice.email_attempts) == ("sending", 1)  # a claim is an attempt
    first = mail.outbox[0].message()["Message-ID"]
    # Within the claim timeout the row is left to its (dead) owner; after it, it is sent again.
    with time_machine.travel(started + datetime.timedelta(minutes=4), tick=False):
        assert notifications_relay() == 0
    with time_machine.travel(started + datetime.timedelta(minutes=6), tick=False):
        assert notifications_relay() == 1
    notice.refresh_from_db()
    assert notice.email_status == Notification.EmailStatus.SENT
    assert (notice.email_attempts, notice.email_resent) == (2, 1)
    assert len(mail.outbox) == 2
    assert mail.outbox[1].message()["Message-ID"] == first == message_id(notice.pk)
    domain = urlsplit(settings.SITE_URL).hostname
    assert re.fullmatch(rf"<notification-{notice.pk}\.[0-9a-f]{{16}}@{re.escape(domain)}>", first)
    # The admin shows it among those sent again after an unconfirmed attempt.
    operator = factories.UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(operator)
    resent = client.get("/admin/referrals/notification/?resent=yes")
    assert list(resent.context["cl"].queryset) == [notice]
    assert (
        notice not in client.get("/admin/referrals/notification/?resent=no").context["cl"].queryset
    )
    assert "Resends after an unconfirmed attempt" in resent.content.decode()


@pytest.mark.django_db
def test_each_notification_has_its_own_message_id_naming_the_site() -> None:
    first, second = factories.NotificationFactory.create_batch(2)
    assert notifications_relay() == 2
    ids = {m.message()["Message-ID"] for m in mail.outbox}
    assert ids == {message_id(first.pk), message_id(second.pk)}
    with override_settings(SITE_URL="https://referrals.example.org"):
        elsewhere = message_id(first.pk)
    assert elsewhere.endswith("@referrals.example.org>")
    assert elsewhere != message_id(first.pk)  # another deployment's #5 is another message


@pytest.mark.django_db
def test_a_claim_that_expires_after_the_last_attempt_fails_rather_than_send_again() -> None:
    notice = factories.NotificationFactory.create(
        email_status=Notification.EmailStatus.SENDING,
        email_claimed_at=timezone.now() - datetime.timedelta(minutes=6),
        email_attempts=RELAY_MAX_ATTEMPTS,
    )
    assert notifications_relay() == 0
    notice.refresh_from_db()
    assert (notice.email_status, notice.email_last_error) == ("failed", CLAIM_EXPIRED)
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_in_app_only_notice_is_never_looked_at_by_the_relay(
    django_assert_num_queries: Any,
) -> None:
    factories.NotificationFactory.create(in_app_only=True)
    with django_assert_num_queries(1):
        assert notifications_relay() == 0
    assert mail.outbox == []
