"""Who is told: a team's members, an agency's safeguarding leads, a referral's referrer side."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from agencies.models import SAFEGUARDING_LEAD_ROLES, TEAM_ROLES, Membership, Role, Team, User
from referrals.models import Referral


def team_memberships(*, team_ids: Iterable[int] | QuerySet[Team, int]) -> QuerySet[Membership]:
    """Who works these teams' queues: active people in a team role. The one definition."""
    if not isinstance(team_ids, QuerySet):
        team_ids = list(team_ids)
    return Membership.objects.filter(
        team_id__in=team_ids, role__in=TEAM_ROLES, user__is_active=True
    )


def team_members(*, team_id: int | None) -> QuerySet[User]:
    """The people who work one team's queue, by name."""
    if team_id is None:
        return User.objects.none()
    return User.objects.filter(
        pk__in=team_memberships(team_ids=[team_id]).values("user_id")
    ).order_by("last_name", "first_name", "email")


def safeguarding_leads_by_agency(agency_ids: Iterable[int]) -> dict[int, list[User]]:
    """Each agency's active safeguarding leads, for any number of agencies in one query."""
    leads: dict[int, list[User]] = {pk: [] for pk in agency_ids}
    memberships = (
        Membership.objects.filter(
            agency_id__in=leads, role__in=SAFEGUARDING_LEAD_ROLES, user__is_active=True
        )
        .select_related("user")
        .order_by("agency_id", "user_id")
    )
    for membership in memberships:
        people = leads[membership.agency_id]
        if not people or people[-1].pk != membership.user_id:  # a lead under two roles
            people.append(membership.user)
    return leads


def share_recipients(*, agency_id: int) -> QuerySet[User]:
    """Who in a partner agency is told of a share: its partner viewers and safeguarding leads."""
    return User.objects.filter(
        is_active=True,
        memberships__agency_id=agency_id,
        memberships__role__in=(Role.PARTNER_VIEWER, *SAFEGUARDING_LEAD_ROLES),
    ).distinct()


def referral_referrer_recipients(
    referral: Referral, *, leads: Iterable[User] | None = None
) -> list[User]:
    """The person who referred and their agency's safeguarding leads (`leads`, if known)."""
    if referral.kind == Referral.Kind.PATTERN:
        return []  # the service raised it: nobody referred
    if leads is None:
        agency_id = referral.referring_agency_id or 0
        leads = safeguarding_leads_by_agency([agency_id])[agency_id]
    people = list(leads)
    if referral.referrer is not None:
        people.append(referral.referrer)
    return people
