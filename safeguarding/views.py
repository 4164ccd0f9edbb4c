"""Operational endpoints."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from safeguarding.celery_app import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("Health check: database unreachable")
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        logger.warning("Health check: broker unreachable")
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; the broker's state is reported, no personal data."""
    database, broker = _database_ok(), _broker_ok()
    return JsonResponse(
        {
            "status": "ok" if database and broker else "degraded" if database else "down",
            "database": "ok" if database else "error",
            "broker": "ok" if broker else "error",
        },
        status=200 if database else 503,
    )
