"""The audit trail of signing in and out (the second factor is audited where it is checked)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from agencies.models import User
from referrals.audit import audit_record
from referrals.models import AuditAction


@receiver(user_logged_in, dispatch_uid="agencies.audit_sign_in")
def audit_sign_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    audit_record(actor=user, action=AuditAction.SIGN_IN, target=user, data={"factor": "password"})


@receiver(user_logged_out, dispatch_uid="agencies.audit_sign_out")
def audit_sign_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        reason = getattr(request, "sign_out_reason", "signed_out")
        audit_record(actor=user, action=AuditAction.SIGN_OUT, target=user, data={"reason": reason})


@receiver(user_login_failed, dispatch_uid="agencies.audit_sign_in_failed")
def audit_sign_in_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    """Recorded against the account when it exists; the address typed is never stored."""
    email = str(credentials.get("username") or "").lower()
    user = User.objects.filter(email=email).first() if email else None
    if user is not None:
        audit_record(
            actor=None, action=AuditAction.SIGN_IN_FAILED, target=user, actor_label="sign-in form"
        )
