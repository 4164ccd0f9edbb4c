"""What every step of a referral's life shares: the locked re-read, the timeline, who receives."""

from __future__ import annotations

from agencies.capabilities import require_capability
from agencies.models import Agency, User
from referrals.models import Referral, ReferralEvent


def locked_referral(referral: Referral, *related: str) -> Referral:
    """The referral re-read under a row lock (its row only), with its team's agency."""
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("team__agency", *related)
        .get(pk=referral.pk)
    )


def receiving_agency(referral: Referral) -> Agency | None:
    """The agency whose team received the referral (none for a draft)."""
    return referral.team.agency if referral.team_id and referral.team else None


def require_receiving_capability(*, user: User, referral: Referral, capability: str) -> None:
    """Refuse unless the person's role grants `capability` in the agency that received it."""
    require_capability(user=user, capability=capability, agency=receiving_agency(referral))


def event_add(
    referral: Referral,
    kind: str,
    *,
    actor: User | None,
    text: str = "",
    is_internal: bool = False,
    agency: Agency | None = None,
) -> ReferralEvent:
    """One entry on the referral's timeline (and so the child's chronology)."""
    return ReferralEvent.objects.create(
        referral=referral,
        kind=kind,
        actor=actor,
        text=text,
        is_internal=is_internal,
        agency=agency,
    )
