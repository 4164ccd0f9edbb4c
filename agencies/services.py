"""Writes about people: their second factor, their sessions, their email address."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import User, UserSession
from referrals.audit import audit_record
from referrals.models import AuditAction


def mfa_device_get_or_create_unconfirmed(*, user: User) -> TOTPDevice:
    """The TOTP device being enrolled: one unconfirmed device per person at a time."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    return device


@transaction.atomic
def mfa_device_confirm(*, user: User, device: TOTPDevice, token: str) -> bool:
    """Confirm enrolment when the code matches; audited."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=user, action=AuditAction.MFA_ENROL, target=user)
    return True


RECOVERY_CODE_COUNT = 10


@transaction.atomic
def mfa_recovery_codes_create(*, user: User) -> list[str]:
    """Replace the person's recovery codes: each signs in once, for when the phone is lost."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(
        actor=user,
        action=AuditAction.MFA_ENROL,
        target=user,
        data={"recovery_codes": RECOVERY_CODE_COUNT},
    )
    return codes


@transaction.atomic
def mfa_token_verify(*, user: User, token: str) -> Device | None:
    """The device a code belongs to (authenticator app, or a recovery code used up); audited."""
    token = "".join(token.split()).lower()
    # Six digits are an authenticator code; anything else can only be a recovery code. Trying
    # each kind only with its own devices keeps one device's failures off the other's throttle.
    devices: list[Device] = (
        list(TOTPDevice.objects.filter(user=user, confirmed=True))
        if token.isdigit()
        else list(StaticDevice.objects.filter(user=user, confirmed=True))
    )
    for device in devices:
        if device.verify_token(token):
            method = "recovery_code" if isinstance(device, StaticDevice) else "totp"
            audit_record(
                actor=user, action=AuditAction.SIGN_IN, target=user, data={"factor": method}
            )
            return device
    audit_record(
        actor=user, action=AuditAction.SIGN_IN_FAILED, target=user, data={"factor": "code"}
    )
    return None


@transaction.atomic
def mfa_reset(*, user: User, by: User) -> None:
    """Remove every second factor of `user`: they enrol again at their next sign-in; audited.

    Their sessions end too, since each was verified with a factor that no longer exists.
    """
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_sessions_end_all(user=user, by=by, reason="mfa_reset")
    audit_record(
        actor=by, action=AuditAction.MFA_RESET, target=user, data={"self": by.pk == user.pk}
    )


@transaction.atomic
def reauthenticate(*, request: HttpRequest, user: User, password: str, token: str) -> bool:
    """Check the password and a code again before a change to sign-in details; audited."""
    checked = authenticate(request, username=user.email, password=password)
    device = None
    if checked is not None and checked.pk == user.pk:
        code = "".join(token.split())
        device = next(
            (
                d
                for d in TOTPDevice.objects.filter(user=user, confirmed=True)
                if d.verify_token(code)
            ),
            None,
        )
    if device is None:
        audit_record(
            actor=user,
            action=AuditAction.SIGN_IN_FAILED,
            target=user,
            data={"step": "reauthenticate"},
        )
        return False
    audit_record(actor=user, action=AuditAction.REAUTHENTICATE, target=user)
    return True


@transaction.atomic
def user_email_change(*, user: User, email: str) -> User:
    """Change the sign-in email address (the addresses themselves stay out of the audit)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.email = User.objects.normalize_email(email).lower()
    user.save(update_fields=["email"])
    audit_record(actor=user, action=AuditAction.EMAIL_CHANGE, target=user)
    return user


USER_SESSION_KEY = "user_session_id"


def user_session_start(*, request: HttpRequest, user: User) -> UserSession:
    """Record a new signed-in session (called at sign-in, after the session key is new)."""
    if request.session.session_key is None:
        request.session.save()
    session = UserSession.objects.create(
        user=user,
        session_key=request.session.session_key or "",
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", "")[:200],
    )
    request.session[USER_SESSION_KEY] = session.pk
    return session


def user_session_close(*, session_id: int, reason: str) -> None:
    """Mark a session ended as its person signs out (the sign-out itself is audited)."""
    UserSession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason[:32]
    )


def _session_store_delete(session_key: str) -> None:
    if session_key:
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key).delete()


@transaction.atomic
def user_session_end(*, session: UserSession, by: User | None, reason: str) -> None:
    """End one session now: its next request is signed out; audited."""
    session = UserSession.objects.select_for_update().get(pk=session.pk)
    if session.ended_at is not None:
        return
    session.ended_at = timezone.now()
    session.end_reason = reason
    session.save(update_fields=["ended_at", "end_reason"])
    _session_store_delete(session.session_key)
    audit_record(
        actor=by,
        action=AuditAction.SESSION_END,
        target=session.user,
        data={"session": session.pk, "reason": reason},
    )


@transaction.atomic
def user_sessions_end_all(*, user: User, by: User | None, reason: str) -> int:
    """End every open session of `user` (deactivated, second factor reset); audited."""
    sessions = list(
        UserSession.objects.select_for_update().filter(user=user, ended_at__isnull=True)
    )
    for session in sessions:
        user_session_end(session=session, by=by, reason=reason)
    return len(sessions)
