"""The audit trail of signing in and out (the second factor is audited where it is checked),
lockouts, the record of each signed-in session, and ending the sessions of a deactivated user."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from agencies.models import User
from agencies.services import (
    USER_SESSION_KEY,
    user_session_close,
    user_session_start,
    user_sessions_end_all,
)
from referrals.audit import audit_denied, audit_record
from referrals.models import AuditAction


@receiver(user_logged_in, dispatch_uid="agencies.audit_sign_in")
def audit_sign_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    audit_record(actor=user, action=AuditAction.SIGN_IN, target=user, data={"factor": "password"})
    if request is not None and hasattr(request, "session"):
        user_session_start(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="agencies.audit_sign_out")
def audit_sign_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        reason = getattr(request, "sign_out_reason", "signed_out")
        audit_record(actor=user, action=AuditAction.SIGN_OUT, target=user, data={"reason": reason})
        session = getattr(request, "session", None)
        if session is not None and session.get(USER_SESSION_KEY):
            user_session_close(session_id=session[USER_SESSION_KEY], reason=reason)


@receiver(user_login_failed, dispatch_uid="agencies.audit_sign_in_failed")
def audit_sign_in_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    """Recorded against the account when it exists; the address typed is never stored."""
    email = str(credentials.get("username") or "").lower()
    user = User.objects.filter(email=email).first() if email else None
    if user is not None:
        audit_record(
            actor=None, action=AuditAction.SIGN_IN_FAILED, target=user, actor_label="sign-in form"
        )


@receiver(user_locked_out, dispatch_uid="agencies.audit_lockout")
def audit_lockout(sender: Any, request: Any, username: str | None, **kwargs: Any) -> None:
    """Recorded against the account when it exists; the address typed is never stored."""
    email = str(username or "").lower()
    user = User.objects.filter(email=email).first() if email else None
    if user is not None:
        audit_record(
            actor=None, action=AuditAction.LOCKOUT, target=user, actor_label="sign-in form"
        )
    else:
        audit_denied(actor=None, target_type=User, target_id="", data={"lockout": True})


@receiver(post_save, sender=User, dispatch_uid="agencies.end_sessions_of_deactivated")
def end_sessions_of_deactivated(sender: Any, instance: User, **kwargs: Any) -> None:
    """A deactivated person is signed out everywhere at once (admin or any other writer)."""
    if not instance.is_active:
        user_sessions_end_all(user=instance, by=None, reason="deactivated")
