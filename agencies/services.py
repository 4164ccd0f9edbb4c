"""Writes about people: their second factor."""

from __future__ import annotations

from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
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
