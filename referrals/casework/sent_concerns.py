"""What the reader of one referral sees beyond the referral itself: the concerns sent with it,
in their own words with their files, and the school the child is known to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from django.db.models import Prefetch

from agencies.models import Agency, AgencyKind, User
from referrals.audit import audit_record_many
from referrals.models import Attachment, AuditAction, Concern, Referral
from referrals.visibility import concern_list_for_user


class School(NamedTuple):
    agency: Agency
    source: str  # how the page knows it: the child's record holds no school of its own


def referral_concerns_for_user(*, user: User, referral: Referral) -> list[Concern]:
    """The concerns sent with the referral that the person may see, oldest first, with their
    agencies and files in two more queries however many; each one shown is an audited read."""
    concerns = list(
        concern_list_for_user(user=user)
        .filter(referrals=referral)
        .select_related("agency")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by"))
        )
        .order_by("observed_at", "pk")
    )
    if concerns:
        audit_record_many(actor=user, action=AuditAction.VIEW, targets=concerns)
    return concerns


def referral_school(*, referral: Referral, concerns: Sequence[Concern]) -> School | None:
    """The school that knows the child: the one that referred, else the latest one that recorded
    a concern sent with it (the child's record has no current school)."""
    if referral.referring_agency.kind == AgencyKind.SCHOOL:
        return School(referral.referring_agency, "made this referral")
    for concern in reversed(concerns):
        if concern.agency.kind == AgencyKind.SCHOOL:
            return School(concern.agency, "recorded a concern sent with it")
    return None
