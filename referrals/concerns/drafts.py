"""Drafts: a form saved as it is typed, so a timeout, a closed tab or a crash loses seconds."""

from __future__ import annotations

import json

from django.db import transaction

from agencies.models import Agency, User
from referrals.audit import audit_record
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, Draft

DRAFT_MAX_BYTES = 256 * 1024


@transaction.atomic
def draft_save(
    *, user: User, agency: Agency, child: Child, kind: str, payload: dict[str, list[str]]
) -> Draft:
    """Create or replace the person's draft of one form about one child; audited when changed."""
    encoded = json.dumps(payload)
    if len(encoded) > DRAFT_MAX_BYTES:
        raise ApplicationError(errors.DRAFT_TOO_LARGE)
    if any("\x00" in text for key, values in payload.items() for text in (key, *values)):
        raise ApplicationError(errors.NULL_CHARACTERS)
    draft, created = Draft.objects.select_for_update().get_or_create(
        owner=user, kind=kind, child=child, defaults={"agency": agency, "payload": payload}
    )
    if not created:
        if draft.payload == payload and draft.agency_id == agency.pk:
            return draft  # nothing new: no write, no audit row
        draft.payload = payload
        draft.agency = agency
        draft.save(update_fields=["payload", "agency", "updated_at"])
    audit_record(
        actor=user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        target=draft,
        agency=agency,
        data={"kind": kind, "child": child.pk},
    )
    return draft


@transaction.atomic
def draft_discard(*, user: User, draft: Draft) -> None:
    """Delete one of the person's drafts (made into a record, or thrown away)."""
    draft = Draft.objects.select_for_update().get(pk=draft.pk, owner=user)
    audit_record(
        actor=user,
        action=AuditAction.UPDATE,
        target=draft,
        agency=draft.agency,
        data={"kind": draft.kind, "child": draft.child_id, "discarded": True},
    )
    draft.delete()


def drafts_discard_for(*, user: User, kind: str, child: Child) -> None:
    """Discard the person's draft of this form about this child, if there is one."""
    for draft in Draft.objects.filter(owner=user, kind=kind, child=child):
        draft_discard(user=user, draft=draft)
