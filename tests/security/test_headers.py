"""Security headers, no caching of personal data, and Django's deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client

from tests import factories
from tests.conftest import ROOT, signed_in


@pytest.mark.parametrize("path", ["/", "/concerns/", "/children/{h}/", "/accounts/security/"])
def test_pages_for_a_signed_in_person_are_never_stored(
    client: Client, teacher: Any, world: Any, path: str
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    signed_in(client, teacher)
    response = client.get(path.format(h=child.pk))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_api_answers_are_never_stored(client: Client, teacher: Any) -> None:
    signed_in(client, teacher)
    response = client.get("/api/v1/children/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_hsts_and_secure_cookies_over_https(client: Client, teacher: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    csrf = response.cookies["csrftoken"]
    assert csrf["secure"]
    assert csrf["httponly"]
    assert csrf["samesite"] == "Lax"
    signed = client.post(
        "/accounts/login/",
        {"username": teacher.email, "password": "correct-horse-battery-staple"},
        secure=True,
    )
    session = signed.cookies["sessionid"]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DEBUG": "0",
        "DEMO_MODE": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "AUDIT_CHAIN_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "referrals.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://referrals.example.org",
        "DATABASE_URL": "postgres://safeguarding@db.invalid:5432/safeguarding",
        "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
        # The compiled assets folder of the checkout, as in production images.
        "DATA_DIR": str(ROOT / ".data"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
