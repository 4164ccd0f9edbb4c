"""Drafts: a form saved as it is typed, so a timeout, a closed tab or a crash loses seconds."""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, User
from referrals.audit import audit_record
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, Draft

DRAFT_MAX_BYTES = 256 * 1024
# The draft's version is a PositiveIntegerField: PostgreSQL's integer.
DRAFT_VERSION_MAX = 2**31 - 1


class DraftChanged(ApplicationError):
    """A save older than the stored draft, or no newer than a closed one: refused, changing
    nothing (the API's 409)."""

    def __init__(self, *, version: int, message: str = errors.DRAFT_CHANGED_ELSEWHERE) -> None:
        super().__init__(message, code="conflict")
        # The version a page carries to save what is on it over the stored draft: the stored
        # one (saved one higher), or one above a closed draft's (which that would reopen).
        self.version = version


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
    form was posted): refuse it, change nothing. A closed draft (made into a record, or
    deleted) refuses the stored version too: only a form shown since it closed is above it, and
    that reopens it. 4. An unchanged payload writes nothing. 5. Otherwise store it; the stored
    version goes up with every change, even when the form sent the stored number again (no
    script), so "the draft at version N" names one payload.
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
    reopened = not created and draft.closed_at is not None
    if reopened and version <= draft.version:
        raise DraftChanged(version=draft.version + 1, message=errors.DRAFT_CLOSED)
    if not created:
        if version < draft.version:
            raise DraftChanged(version=draft.version)
        if not reopened and draft.payload == payload and draft.agency_id == agency.pk:
            return draft  # nothing new: no write, no audit row
        draft.payload = payload
        draft.agency = agency
        draft.version = max(version, draft.version + 1)
        draft.closed_at = None
        draft.save(update_fields=["payload", "agency", "version", "closed_at", "updated_at"])
    data: dict[str, object] = {"kind": kind, "child": child.pk, "version": draft.version}
    if reopened:
        data["reopened"] = True
    audit_record(
        actor=user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        target=draft,
        agency=agency,
        data=data,
    )
    return draft


def draft_hold(*, user: User, kind: str, child: Child, draft_id: int, version: int) -> bool:
    """Lock the person's draft if it is still the open one at `version`, until the caller's
    transaction ends: what is sent from it is then what was checked, and a save made meanwhile
    waits. False when it has changed or closed (sent from another tab meanwhile)."""
    return (
        Draft.objects.select_for_update()
        .filter(
            pk=draft_id,
            owner=user,
            kind=kind,
            child=child,
            version=version,
            closed_at__isnull=True,
        )
        .exists()
    )


def _close(*, user: User, draft: Draft, version: int) -> None:
    """Close a locked draft: its answers emptied (the record holds them, or the person threw
    them away), its version kept, or raised to the form's posted one; audited."""
    draft.payload = {}
    draft.closed_at = timezone.now()
    draft.version = max(draft.version, version)
    draft.save(update_fields=["payload", "closed_at", "version", "updated_at"])
    audit_record(
        actor=user,
        action=AuditAction.UPDATE,
        target=draft,
        agency=draft.agency,
        data={
            "kind": draft.kind,
            "child": draft.child_id,
            "version": draft.version,
            "discarded": True,
        },
    )


@transaction.atomic
def draft_discard(*, user: User, draft: Draft) -> None:
    """Close one of the person's open drafts when they delete it: not deleted, so a save still
    on its way from its form finds it closed and changes nothing."""
    locked = Draft.objects.select_for_update().filter(
        pk=draft.pk, owner=user, closed_at__isnull=True
    )
    for row in locked:  # none when it closed meanwhile (deleted twice, or sent)
        _close(user=user, draft=row, version=row.version)


# Inside the send's or the concern's transaction: nothing catches a failure halfway, so no
# savepoint (two round trips).
@transaction.atomic(savepoint=False)
def drafts_discard_for(
    *, user: User, kind: str, child: Child, agency: Agency | None = None, version: int = 0
) -> None:
    """Close the person's draft of this form about this child: the record was made from it.

    `version` is the one the form was posted with, above every save its script sent: the
    closed draft keeps the higher of it and its own, so none of those saves arriving late
    reopens it. With an `agency` and a version but no draft yet (the form's first save still on
    its way), a closed one is made at that version for the same reason.
    """
    if not 0 <= version < DRAFT_VERSION_MAX:
        version = 0
    # With its agency, which the audit row names (the draft's row only is locked).
    locked = Draft.objects.select_for_update(of=("self",)).select_related("agency")
    draft = locked.filter(owner=user, kind=kind, child=child).first()
    if draft is None and agency is not None and version > 0:
        closed = {"agency": agency, "payload": {}, "version": version, "closed_at": timezone.now()}
        draft, created = locked.get_or_create(owner=user, kind=kind, child=child, defaults=closed)
        if created:
            audit_record(
                actor=user,
                action=AuditAction.CREATE,
                target=draft,
                agency=agency,
                data={"kind": kind, "child": child.pk, "version": version, "discarded": True},
            )
            return
    if draft is not None and (draft.closed_at is None or version > draft.version):
        _close(user=user, draft=draft, version=version)
