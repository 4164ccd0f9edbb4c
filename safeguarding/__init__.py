"""Project package: settings, URLs and the Celery app."""

from __future__ import annotations

from safeguarding.celery_app import app as celery_app

__all__ = ["celery_app"]
