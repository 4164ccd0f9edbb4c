"""The Celery application: tasks take ids, call a service and hold no child data."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguarding.settings")

app = Celery("safeguarding")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The referrals app keeps its tasks in the packages whose jobs they are.
app.autodiscover_tasks(["referrals.outbox", "referrals.clocks", "referrals.casework"])
app.autodiscover_tasks(["referrals"], related_name="audit")
