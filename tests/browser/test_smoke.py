"""Pages in Debian's Chromium: sign in with a second factor, and pass axe."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django_otp.oath import TOTP

from referrals.models import AuditAction, AuditEvent
from tests.conftest import axe_violations


@pytest.mark.browser
def test_sign_in_page_has_no_accessibility_violations_at_all(page: Any) -> None:
    page.goto("/accounts/login/")
    assert page.title().startswith("Sign in")
    assert axe_violations(page) == []


@pytest.mark.browser
def test_it_enrols_an_authenticator_and_signs_in(page: Any, dsl: Any) -> None:
    page.goto("/")
    page.get_by_label("Email address").fill(dsl.email)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/accounts/mfa/enrol/"))
    assert axe_violations(page) == []
    secret = page.locator("code").inner_text()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Security code").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url(re.compile(r"/accounts/mfa/recovery-codes/$"))
    assert page.locator(".app-recovery-codes li").count() == 10
    assert axe_violations(page) == []
    page.get_by_role("button", name="I have saved my recovery codes").click()

    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name="What needs you now").is_visible()
    assert page.get_by_text("Concerns to review").is_visible()
    assert axe_violations(page) == []
    # The authenticator app, then the recovery codes.
    assert AuditEvent.objects.filter(actor=dsl, action=AuditAction.MFA_ENROL).count() == 2


@pytest.mark.browser
def test_a_wrong_code_is_refused_with_a_clear_message(page: Any, dsl: Any) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(dsl.email)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/mfa/enrol/"))
    page.get_by_label("Security code").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert axe_violations(page) == []
    page.goto("/")
    assert "/accounts/mfa/" in page.url
