"""Tasks run by a real Celery worker process, on Redis, against the test database."""

from __future__ import annotations

import pytest

from referrals.models import Notification
from referrals.outbox.tasks import notifications_relay_task
from tests import factories
from tests.conftest import WorkerProcess, wait_for


@pytest.mark.worker
def test_the_worker_sends_the_notification_outbox(celery_worker: WorkerProcess) -> None:
    emails = factories.NotificationFactory.create_batch(3, channel=Notification.Channel.EMAIL)
    in_app = factories.NotificationFactory.create(channel=Notification.Channel.IN_APP)

    notifications_relay_task.delay()

    def all_sent() -> bool:
        return not Notification.objects.exclude(status=Notification.Status.SENT).exists()

    wait_for(all_sent, timeout=30)
    for notification in [*emails, in_app]:
        notification.refresh_from_db()
        assert notification.sent_at is not None
        assert notification.attempts == 1
    assert "notifications_relay_task" in celery_worker.log()
    assert "succeeded" in celery_worker.log()
