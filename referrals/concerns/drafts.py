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
# The draft's version is a PositiveIntegerField: PostgreSQL's integer.
DRAFT_VERSION_MAX = 2**31 - 1


class DraftChanged(ApplicationError):
    """A save older than the stored draft: refused, changing nothing (the API's 409)."""

    def __init__(self, *, version: int) -> None:
        super().__init__(errors.DRAFT_CHANGED_ELSEWHERE, code="conflict")
        self.version = version  # the stored one, so a page can offer to save over it


@transaction.atomic
def draft_save(
    *,
    user: User,
    agency: Agency,
    child: Child,
    kind: str,
    payload: dict[str, list[str]],
    version: int,
) -> Draft:
    """Create or replace the person's draft of one form about one child; audited when changed.

    `version` is the form's own count of its saves. 1. Refuse bad input before any lock.
    2. Lock the row (or create it), so of two saves at once the second sees the first.
    3. A save lower than the stored version arrived late (an autosave still in flight when the
    form was posted): refuse it, change nothing. 4. An unchanged payload writes nothing.
    5. Otherwise store it; the stored version goes up with every change, even when the form
    sent the stored number again (no script), so "the draft at version N" names one payload.
    """
    encoded = json.dumps(payload)
    if len(encoded) > DRAFT_MAX_BYTES:
        raise ApplicationError(errors.DRAFT_TOO_LARGE)
    if any("\x00" in text for key, values in payload.items() for text in (key, *values)):
        raise ApplicationError(errors.NULL_CHARACTERS)
    if not 0 <= version < DRAFT_VERSION_MAX:
        raise ApplicationError(errors.DRAFT_VERSION_INVALID)
    draft, created = Draft.objects.select_for_update().get_or_create(
        owner=user,
        kind=kind,
        child=child,
        # A stored draft is never at 0: that is a form shown before there was a draft.
        defaults={"agency": agency, "payload": payload, "version": max(version, 1)},
    )
    if not created:
        if version < draft.version:
            raise DraftChanged(version=draft.version)
        if draft.payload == payload and draft.agency_id == agency.pk:
            return draft  # nothing new: no write, no audit row
        draft.payload = payload
        draft.agency = agency
        draft.version = max(version, draft.version + 1)
        draft.save(update_fields=["payload", "agency", "version", "updated_at"])
    audit_record(
        actor=user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        target=draft,
        agency=agency,
        data={"kind": kind, "child": child.pk, "version": draft.version},
    )
    return draft


def draft_hold(*, user: User, kind: str, child: Child, draft_id: int, version: int) -> bool:
    """Lock the person's draft if it is still the one at `version`, until the caller's
    transaction ends: what is sent from it is then what was checked, and a save made meanwhile
    waits. False when it is gone or has changed."""
    return (
        Draft.objects.select_for_update()
        .filter(pk=draft_id, owner=user, kind=kind, child=child, version=version)
        .exists()
    )


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
