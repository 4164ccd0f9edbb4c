"""Writes made by partner agencies' systems: submitting a referral, acknowledging a share."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agencies.models import Agency, LocalAuthority, Membership, Role, User
from referrals import errors, services
from referrals.audit import audit_record, audit_rows_last
from referrals.errors import ApplicationError
from referrals.models import AuditAction, Child, IdempotencyKey, Referral, ReferralEvent, Share
from referrals.permissions import agencies_with_capability
from referrals.selectors import child_list_for_user, scope_for_user

IDEMPOTENCY_KEY_REUSED = "This Idempotency-Key was already used with a different request."
CHILD_NOT_FOUND = "No child with that id is known to your agency."
AGENCY_REQUIRED = "You refer for more than one agency: say which in referring_agency."
NOT_SHARED = "This referral is not shared with your agency."


class IdempotentReplay(Exception):
    """The key was used before with the same request: answer with the first referral."""

    def __init__(self, referral: Referral) -> None:
        super().__init__("replay")
        self.referral = referral


def referring_agency_for(*, user: User, agency_id: int | None) -> Agency:
    """The agency a person or system refers for: named, or the only one they may refer for."""
    agencies = agencies_with_capability(user=user, capability="referrals.add_referral")
    if agency_id is not None:
        agencies = [a for a in agencies if a.pk == agency_id]
    if len(agencies) == 1:
        return agencies[0]
    if not agencies:
        raise ApplicationError(errors.PERMISSION_DENIED, code="permission_denied")
    raise ApplicationError(AGENCY_REQUIRED)


def _replay_or_reuse_error(*, user: User, key: str, request_hash: str) -> None:
    existing = (
        IdempotencyKey.objects.filter(client=user, key=key).select_related("referral").first()
    )
    if existing is None:
        return
    if existing.request_hash != request_hash or existing.referral is None:
        raise ApplicationError(IDEMPOTENCY_KEY_REUSED, code="idempotency_key_reused")
    raise IdempotentReplay(existing.referral)


def _child_for(*, user: User, agency: Agency, child: dict[str, Any]) -> Child:
    if child.get("id") is not None:
        found = child_list_for_user(user=user).filter(pk=child["id"]).first()
        if found is None:
            raise ApplicationError(CHILD_NOT_FOUND, code="child_not_found")
        return found
    nhs_number = child.get("nhs_number") or ""
    if nhs_number:
        known = child_list_for_user(user=user).filter(nhs_number=nhs_number).first()
        if known is not None:
            return known
    return services.child_create(user=user, agency=agency, **child)


def referral_submit_for_agency(
    *,
    user: User,
    agency: Agency,
    child: dict[str, Any],
    local_authority: LocalAuthority | None = None,
    idempotency_key: str | None = None,
    request_hash: str = "",
    **fields: Any,
) -> Referral:
    """Make and submit a referral in one step, once per Idempotency-Key.

    Raises IdempotentReplay when the key was used with the same request before.
    """
    if idempotency_key:
        _replay_or_reuse_error(user=user, key=idempotency_key, request_hash=request_hash)
    try:
        with transaction.atomic(), audit_rows_last():
            key_row = None
            if idempotency_key:
                # Inserted first: a concurrent retry with the same key waits here on the unique
                # index until this transaction ends, then replays what it made.
                key_row = IdempotencyKey.objects.create(
                    client=user, key=idempotency_key, request_hash=request_hash
                )
            the_child = _child_for(user=user, agency=agency, child=child)
            draft = services.referral_create(
                user=user,
                agency=agency,
                child=the_child,
                local_authority=local_authority,
                actor_label=_label(user),
                **fields,
            )
            referral = services.referral_submit(referral=draft, user=user, actor_label=_label(user))
            if key_row is not None:
                key_row.referral = referral
                key_row.save(update_fields=["referral"])
            return referral
    except IntegrityError:
        if not idempotency_key:
            raise
        _replay_or_reuse_error(user=user, key=idempotency_key, request_hash=request_hash)
        raise


def _label(user: User) -> str:
    return f"api:{user.email}" if user.is_agency_system else ""


@transaction.atomic
def share_acknowledge_receipt(*, referral: Referral, user: User) -> Share:
    """A partner agency confirms it received a shared referral (idempotent)."""
    scope = scope_for_user(user)
    share = (
        Share.objects.select_for_update()
        .filter(referral=referral, agency_id__in=scope.agency_ids, revoked_at__isnull=True)
        .order_by("id")
        .first()
    )
    if share is None:
        raise ApplicationError(NOT_SHARED, code="not_shared")
    if share.received_at is not None:
        return share
    share.received_at = timezone.now()
    share.save(update_fields=["received_at"])
    Referral.objects.filter(pk=referral.pk).update(updated_at=timezone.now())
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.SHARE_RECEIVED,
        actor=None if user.is_agency_system else user,
        agency=share.agency,
    )
    audit_record(
        actor=user,
        action=AuditAction.ACKNOWLEDGE_RECEIPT,
        target=referral,
        agency=share.agency,
        actor_label=_label(user),
        data={"share": share.pk},
    )
    return share


def api_client_create(
    *, agency: Agency, name: str, client_id: str | None = None, client_secret: str | None = None
) -> tuple[Any, str]:
    """Register an agency's system: its account, its one membership, its OAuth2 application.

    Returns the application and the client secret, shown once (it is stored hashed).
    """
    from oauth2_provider.generators import generate_client_id, generate_client_secret
    from oauth2_provider.models import get_application_model

    application_model = get_application_model()
    client_id = client_id or generate_client_id()
    secret = client_secret or generate_client_secret()
    with transaction.atomic():
        account = User.objects.create_user(
            f"{client_id}@clients.invalid", None, first_name=name, is_agency_system=True
        )
        Membership.objects.create(user=account, agency=agency, role=Role.AGENCY_SYSTEM)
        application = application_model.objects.create(
            name=name,
            user=account,
            client_id=client_id,
            client_secret=secret,
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
        )
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            target=account,
            agency=agency,
            actor_label="api_client_create",
        )
    return application, secret
