"""Tasks run by a real Celery worker process, on Redis, against the test database."""

from __future__ import annotations

import pytest

from referrals.models import Notification
from referrals.outbox.tasks import notifications_relay_task
from tests import factories
from tests.conftest import WorkerProcess, wait_for


@pytest.mark.worker
def test_the_worker_sends_the_notification_outbox(celery_worker: WorkerProcess) -> None:
    emails = factories.NotificationFactory.create_batch(3)
    in_app = factories.NotificationFactory.create(in_app_only=True)

    notifications_relay_task.delay()

    def all_sent() -> bool:
        return not Notification.objects.filter(email_status="pending").exists()

    wait_for(all_sent, timeout=30)
    for notification in emails:
        notification.refresh_from_db()
        assert notification.email_status == Notification.EmailStatus.SENT
        assert notification.email_sent_at is not None
        assert notification.email_attempts == 1
    in_app.refresh_from_db()
    assert (in_app.email_status, in_app.email_attempts) == (Notification.EmailStatus.NONE, 0)
    assert "notifications_relay_task" in celery_worker.log()
    assert "succeeded" in celery_worker.log()
