"""Settings for the test suite: the real settings, pointed at servers the tests start.

The PostgreSQL and Redis ports are picked here, before Django and Celery read them, and the
session fixtures in conftest.py start the servers on exactly those ports.
"""

from __future__ import annotations

import os
import socket


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TEST_PG_PORT = int(os.environ.setdefault("TEST_PG_PORT", str(_free_port())))
TEST_REDIS_PORT = int(os.environ.setdefault("TEST_REDIS_PORT", str(_free_port())))
# Never whatever the shell had: tests only ever touch the servers they started.
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{TEST_PG_PORT}/safeguarding"
os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{TEST_REDIS_PORT}/0"
os.environ["SECRET_KEY"] = "tests-only-not-a-secret"
os.environ["DEMO_MODE"] = "0"
os.environ.setdefault("SECURE_COOKIES", "0")
# The test client speaks plain HTTP; tests/security checks the redirect itself.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Playwright's sync API runs an event loop in the test thread; the ORM calls there are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from safeguarding.settings import *  # noqa: E402, F403
from safeguarding.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# One process, one clock: no skew to allow for in the API feed (the sync test sets its own).
API_FEED_HORIZON_MARGIN_SECONDS = 0.0
