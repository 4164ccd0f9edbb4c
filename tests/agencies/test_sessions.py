"""Sign-in around the pages: recovery codes, lockout with a cool-off, idle and absolute
session timeouts, and the audit trail of signing in and out."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken

from agencies.services import mfa_recovery_codes_create
from referrals.models import AuditAction, AuditEvent
from safeguarding.middleware import SESSION_ACTIVITY_KEY, SESSION_STARTED_KEY
from tests.conftest import PASSWORD, signed_in, totp_now


def _age_session(client: Client, key: str, seconds: float) -> None:
    session = client.session
    session[key] = time.time() - seconds
    session.save()


def test_an_idle_session_ends_with_a_clear_message(
    client: Client, teacher: Any, settings: Any
) -> None:
    signed_in(client, teacher)
    assert client.get("/").status_code == 200
    _age_session(client, SESSION_ACTIVITY_KEY, settings.SESSION_IDLE_SECONDS + 5)
    response = client.get("/concerns/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=%2Fconcerns%2F"
    assert "You were signed out because you did nothing for 30 minutes" in (
        response.content.decode()
    )
    assert client.get("/").status_code == 302
    signed_out = AuditEvent.objects.get(actor=teacher, action=AuditAction.SIGN_OUT)
    assert signed_out.data == {"reason": "idle"}


def test_a_script_is_told_the_session_ended(client: Client, teacher: Any, settings: Any) -> None:
    signed_in(client, teacher)
    client.get("/")
    _age_session(client, SESSION_ACTIVITY_KEY, settings.SESSION_IDLE_SECONDS + 5)
    response = client.post("/accounts/session/keep-alive/", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 401


def test_activity_keeps_the_session(client: Client, teacher: Any, settings: Any) -> None:
    signed_in(client, teacher)
    client.get("/")
    _age_session(client, SESSION_ACTIVITY_KEY, settings.SESSION_IDLE_SECONDS - 60)
    response = client.post("/accounts/session/keep-alive/", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200
    assert client.session[SESSION_ACTIVITY_KEY] > time.time() - 5


def test_the_session_ends_twelve_hours_after_signing_in_whatever_happens(
    client: Client, teacher: Any, settings: Any
) -> None:
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60
    signed_in(client, teacher)
    client.get("/")
    _age_session(client, SESSION_STARTED_KEY, settings.SESSION_COOKIE_AGE + 1)
    response = client.get("/", follow=True)
    assert "more than 12 hours ago" in response.content.decode()
    assert AuditEvent.objects.get(actor=teacher, action=AuditAction.SIGN_OUT).data == {
        "reason": "absolute"
    }


def test_repeated_failures_lock_the_account_for_a_while_with_a_clear_message(
    client: Client, teacher: Any, settings: Any
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": teacher.email, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": teacher.email, "password": PASSWORD})
    page = response.content.decode()
    assert response.status_code == 429
    assert "There is a problem" in page
    assert "You have tried to sign in too many times. Wait 15 minutes" in page
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(actor_label="sign-in form").count() >= 5


def test_the_lock_is_never_permanent(settings: Any) -> None:
    assert settings.AXES_COOLOFF_TIME


def test_enrolment_gives_recovery_codes_once(client: Client, dsl: Any) -> None:
    from django_otp.oath import TOTP

    client.post("/accounts/login/", {"username": dsl.email, "password": PASSWORD})
    page = client.get("/accounts/mfa/enrol/")
    secret = page.context["secret"]
    import base64

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    response = client.post("/accounts/mfa/enrol/", {"token": f"{TOTP(key).token():06d}"})
    assert response["Location"] == "/accounts/mfa/recovery-codes/"
    codes = client.get("/accounts/mfa/recovery-codes/").context["codes"]
    assert len(codes) == 10
    assert set(codes) == set(StaticToken.objects.values_list("token", flat=True))
    assert client.get("/accounts/mfa/recovery-codes/")["Location"] == "/"  # shown once


def test_a_recovery_code_signs_in_once(client: Client, dsl: Any) -> None:
    totp_now(dsl)  # an authenticator is enrolled
    code = mfa_recovery_codes_create(user=dsl)[0]
    client.post("/accounts/login/", {"username": dsl.email, "password": PASSWORD})
    response = client.post("/accounts/mfa/", {"token": code.upper()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    sign_ins = AuditEvent.objects.filter(actor=dsl, action=AuditAction.SIGN_IN)
    assert [e.data["factor"] for e in sign_ins] == ["password", "recovery_code"]
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": dsl.email, "password": PASSWORD})
    again = client.post("/accounts/mfa/", {"token": code})
    assert "The code is not right" in again.content.decode()


@pytest.mark.parametrize("path", ["/concerns/", "/referrals/mine/"])
def test_after_the_second_factor_the_person_returns_to_the_page_they_asked_for(
    client: Client, teacher: Any, path: str
) -> None:
    client.post("/accounts/login/", {"username": teacher.email, "password": PASSWORD})
    redirect = client.get(path)
    assert redirect["Location"] == f"/accounts/mfa/?next={path.replace('/', '%2F')}"
    response = client.post(redirect["Location"], {"token": totp_now(teacher)})
    assert response["Location"] == path
