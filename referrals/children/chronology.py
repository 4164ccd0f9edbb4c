"""A child's chronology: everything the person may see about the child, in time order."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from agencies.models import User
from referrals.models import Child, Concern, Referral, ReferralEvent
from referrals.visibility import (
    PARTNER_EVENT_KINDS,
    Audience,
    authority_received_referrals,
    concern_list_for_user,
    event_text_for,
    household_list_for_user,
    referral_audience,
    referral_list_for_user,
    scope_for_user,
)


@dataclass(frozen=True)
class ChronologyEntry:
    at: datetime.datetime
    title: str
    text: str
    agency: str
    concern: Concern | None = None
    referral: Referral | None = None
    is_internal: bool = False
    # False for a referral the authority received that the person may not open (another
    # team's): they see its history here, not its page.
    may_open: bool = True


def child_chronology_for_user(
    *, user: User, child: Child
) -> tuple[list[ChronologyEntry], list[Concern], list[Referral]]:
    """Everything the person may see about the child, in time order (not audited here).

    Across every record merged with the child's (issue 9): each item still passes its own
    selector, so a merge shows nobody anything they could not see before.
    """
    group = Child.objects.group_ids(child)
    concerns = list(
        concern_list_for_user(user=user)
        .filter(child_id__in=group)
        .select_related("agency", "raised_by")
        .prefetch_related("addenda__author")
    )
    scope = scope_for_user(user)
    # The receiving authority sees every referral about the child it received, from any
    # agency and whichever of its teams worked it; others what the referral selector allows.
    visible_ids = set(
        referral_list_for_user(user=user).filter(child_id__in=group).values_list("pk", flat=True)
    )
    authority_ids: set[int] = set()
    if scope.team_authority_ids or scope.authority_ids:
        authority_ids = set(
            authority_received_referrals(scope)
            .filter(child_id__in=group)
            .values_list("pk", flat=True)
        )
    referrals = list(
        Referral.objects.filter(pk__in=visible_ids | authority_ids)
        .select_related("referring_agency", "local_authority", "team", "decision")
        .order_by("submitted_at", "id")
    )
    entries: list[ChronologyEntry] = []
    for concern in concerns:
        entries.append(
            ChronologyEntry(
                concern.observed_at,
                "Concern recorded",
                concern.what_happened,
                concern.agency.name,
                concern=concern,
            )
        )
        if concern.reviewed_at is not None:
            entries.append(
                ChronologyEntry(
                    concern.reviewed_at,
                    f"Concern reviewed: {concern.get_review_outcome_display()}",
                    concern.review_rationale,
                    concern.agency.name,
                    concern=concern,
                )
            )
        for addendum in concern.addenda.all():
            entries.append(
                ChronologyEntry(
                    addendum.created_at,
                    "Added to a concern",
                    addendum.text,
                    concern.agency.name,
                    concern=concern,
                )
            )
    events = ReferralEvent.objects.filter(referral__in=[r.pk for r in referrals]).select_related(
        "agency"
    )
    by_pk = {r.pk: r for r in referrals}
    # A referral the person may not open (another team's, received by their authority) is
    # told as a partner would read it: that it came, what was asked and answered, the outcome,
    # and how it ended; never its internal events, notes, rationale or feedback's words.
    audiences = {
        r.pk: referral_audience(user=user, referral=r) if r.pk in visible_ids else Audience.PARTNER
        for r in referrals
    }
    for event in events:
        referral = by_pk[event.referral_id]
        audience = audiences[referral.pk]
        if event.is_internal and audience != Audience.TEAM:
            continue
        if audience == Audience.PARTNER and event.kind not in PARTNER_EVENT_KINDS:
            continue
        title = f"Referral: {event.get_kind_display()}"
        decision = getattr(referral, "decision", None)
        if decision is not None and event.kind in (
            ReferralEvent.Kind.DECIDED,
            ReferralEvent.Kind.FEEDBACK,
        ):
            title += f": {decision.get_outcome_display()}"
        entries.append(
            ChronologyEntry(
                event.created_at,
                title,
                event_text_for(event, audience),
                event.agency.name if event.agency else referral.referring_agency.name,
                referral=referral,
                is_internal=event.is_internal,
                may_open=referral.pk in visible_ids,
            )
        )
    for member in household_list_for_user(user=user, child=child):
        joined = member.joined_on
        entries.append(
            ChronologyEntry(
                datetime.datetime.combine(joined, datetime.time(), tzinfo=datetime.UTC)
                if joined
                else member.created_at,
                f"Adult linked to the child: {member.get_relationship_display()}"
                + (" (lives with the child)" if member.lives_with_child else ""),
                f"{member.first_name} {member.last_name}"
                + (f", born {member.date_of_birth:%d %B %Y}" if member.date_of_birth else "")
                + (f". {member.notes}" if member.notes else ""),
                member.agency.name,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries, concerns, referrals
