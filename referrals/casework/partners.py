"""Writes made by partner agencies' systems: submitting a referral, acknowledging a share."""

from __future__ import annotations

from typing import Any, Unpack, cast

from django.db import IntegrityError, transaction
from oauth2_provider.generators import generate_client_id, generate_client_secret
from oauth2_provider.models import get_application_model

from agencies.capabilities import agencies_with_capability
from agencies.models import Agency, LocalAuthority, Membership, Role, User
from referrals.audit import api_actor_label, audit_record, audit_rows_last
from referrals.casework.referrals import ReferralFields, referral_create_and_submit
from referrals.children.services import ChildFields, child_create
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, IdempotencyKey, Referral
from referrals.visibility import child_list_for_user

IDEMPOTENCY_KEY_REUSED = "This Idempotency-Key was already used with a different request."
CHILD_NOT_FOUND = "No child with that id is known to your agency."
AGENCY_REQUIRED = "You refer for more than one agency: say which in referring_agency."


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


class PartnerChild(ChildFields, total=False):
    """The child of an agency's submission: one it already knows by id, or who they are."""

    id: int


def _child_for(*, user: User, agency: Agency, child: PartnerChild) -> tuple[Child, bool]:
    """The child, locked or recorded just now (held till the end of the transaction: the
    pattern rules need the lock), and whether it was recorded."""
    # The child's row only, never the rows the selector reads to decide who may see it.
    visible = child_list_for_user(user=user).select_for_update(of=("self",))
    if child.get("id") is not None:
        found = visible.filter(pk=child["id"]).first()
        if found is None:
            raise ApplicationError(CHILD_NOT_FOUND, code="not_found")
        return found, False
    nhs_number = child.get("nhs_number") or ""
    if nhs_number:
        known = visible.filter(nhs_number=nhs_number).first()
        if known is not None:
            return known, False
    details = cast(ChildFields, {key: value for key, value in child.items() if key != "id"})
    return child_create(user=user, agency=agency, **details), True


def referral_submit_for_agency(
    *,
    user: User,
    agency: Agency,
    child: PartnerChild,
    local_authority: LocalAuthority | None = None,
    idempotency_key: str | None = None,
    request_hash: str = "",
    **fields: Unpack[ReferralFields],
) -> Referral:
    """Make and submit a referral in one step, once per Idempotency-Key.

    Raises IdempotentReplay when the key was used with the same request before.
    """
    try:
        with transaction.atomic(), audit_rows_last():
            the_child, recorded = _child_for(user=user, agency=agency, child=child)
            referral = referral_create_and_submit(
                user=user,
                agency=agency,
                child=the_child,
                local_authority=local_authority,
                actor_label=api_actor_label(user),
                child_held=True,
                standalone_child=recorded and the_child.merged_into_id is None,
                **fields,
            )
            if idempotency_key:
                # Last, with what was made: a retry with the same key, concurrent or later,
                # stops here on the unique index (waiting until this one ends), its whole
                # transaction rolls back, and it replays what this one made. Not looked up
                # first: a first try is every request, a retry is rare.
                IdempotencyKey.objects.create(
                    client=user, key=idempotency_key, request_hash=request_hash, referral=referral
                )
            return referral
    except IntegrityError:
        if not idempotency_key:
            raise
        _replay_or_reuse_error(user=user, key=idempotency_key, request_hash=request_hash)
        raise


def api_client_create(
    *, agency: Agency, name: str, client_id: str | None = None, client_secret: str | None = None
) -> tuple[Any, str]:
    """Register an agency's system: its account, its one membership, its OAuth2 application.

    Returns the application and the client secret, shown once (it is stored hashed).
    """
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
