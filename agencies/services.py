"""Writes about people: their second factor."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import User
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
