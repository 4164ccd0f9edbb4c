"""Every read that decides who sees what: one selector per model, as a queryset.

Visibility comes from the person's memberships (indexed foreign-key columns) plus explicit
shares (django-guardian group permissions on a direct foreign-key table), and nothing else.
The membership ids are read once (a handful of small integers) and inlined, so PostgreSQL can
combine the indexes on the referral table instead of scanning it.

The `_get_for_user` selectors raise Http404 for anything the person may not see, so nobody
learns that a record about a child exists, and they audit both the read and the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from agencies.models import (
    AUTHORITY_WIDE_ROLES,
    SAFEGUARDING_LEAD_ROLES,
    SHARE_RECIPIENT_ROLES,
    TEAM_ROLES,
    AgencyKind,
    Membership,
    User,
)
from referrals.audit import audit_denied, audit_record
from referrals.models import (
    AuditAction,
    Child,
    Concern,
    Referral,
    ReferralGroupObjectPermission,
)


@dataclass(frozen=True)
class Scope:
    """What a person's memberships reach: ids only, read in one query."""

    agency_ids: frozenset[int]
    lead_agency_ids: frozenset[int]
    team_ids: frozenset[int]
    authority_ids: frozenset[int]
    group_ids: frozenset[int]

    @property
    def is_empty(self) -> bool:
        return not self.agency_ids


_EMPTY = Scope(frozenset(), frozenset(), frozenset(), frozenset(), frozenset())


def scope_for_user(user: User | Any) -> Scope:
    """The person's reach, cached on the user object for the rest of the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return _EMPTY
    cached: Scope | None = getattr(user, "_safeguarding_scope", None)
    if cached is not None:
        return cached
    rows = Membership.objects.filter(user=user, agency__is_active=True).values_list(
        "agency_id",
        "role",
        "team_id",
        "agency__kind",
        "agency__local_authority_id",
        "agency__group_id",
    )
    agency_ids, lead, teams, authorities, groups = set(), set(), set(), set(), set()
    for agency_id, role, team_id, kind, authority_id, group_id in rows:
        agency_ids.add(agency_id)
        if group_id is not None and role in SHARE_RECIPIENT_ROLES:
            groups.add(group_id)
        if role in SAFEGUARDING_LEAD_ROLES:
            lead.add(agency_id)
        if role in TEAM_ROLES and team_id is not None:
            teams.add(team_id)
        if role in AUTHORITY_WIDE_ROLES and kind == AgencyKind.CHILDRENS_SOCIAL_CARE:
            authorities.add(authority_id)
    scope = Scope(
        frozenset(agency_ids),
        frozenset(lead),
        frozenset(teams),
        frozenset(authorities),
        frozenset(groups),
    )
    user.__dict__["_safeguarding_scope"] = scope
    return scope


def _receiving_q(scope: Scope) -> Q:
    """Referrals this person works as the receiving authority (never drafts)."""
    return (Q(team_id__in=scope.team_ids) | Q(local_authority_id__in=scope.authority_ids)) & ~Q(
        status=Referral.Status.DRAFT
    )


def referral_list_for_user(*, user: User | Any) -> QuerySet[Referral]:
    """Referrals the person may see: by membership, or shared with their agency."""
    scope = scope_for_user(user)
    if scope.is_empty:
        return Referral.objects.none()
    visible = (
        Q(referring_agency_id__in=scope.lead_agency_ids) | Q(referrer=user) | _receiving_q(scope)
    )
    if scope.group_ids:
        shared = ReferralGroupObjectPermission.objects.filter(
            content_object=OuterRef("pk"),
            group_id__in=scope.group_ids,
            permission__codename="view_referral",
        )
        visible |= Q(Exists(shared))
    return Referral.objects.filter(visible)


def referral_get_for_user(*, user: User | Any, pk: Any) -> Referral:
    """One referral the person may see, with the read audited; Http404 otherwise."""
    try:
        referral = (
            referral_list_for_user(user=user)
            .select_related("child", "referring_agency", "local_authority", "team", "owner")
            .get(pk=pk)
        )
    except (Referral.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=Referral, target_id=pk)
        raise Http404 from None
    audit_record(actor=user, action=AuditAction.VIEW, target=referral)
    return referral


def referral_is_received_by(*, user: User | Any, referral: Referral) -> bool:
    """Whether the person works this referral for the receiving authority."""
    scope = scope_for_user(user)
    return referral.status != Referral.Status.DRAFT and (
        referral.team_id in scope.team_ids or referral.local_authority_id in scope.authority_ids
    )


def concern_list_for_user(*, user: User | Any) -> QuerySet[Concern]:
    """Concerns the person may see.

    Staff see what they raised; DSLs and deputies see all their agency's; the receiving
    authority sees the concerns a referral brought to it. Shares do not reach concerns.
    """
    scope = scope_for_user(user)
    if scope.is_empty:
        return Concern.objects.none()
    referred = Referral.concerns.through.objects.filter(concern_id=OuterRef("pk")).filter(
        Q(referral__team_id__in=scope.team_ids)
        | Q(referral__local_authority_id__in=scope.authority_ids),
        ~Q(referral__status=Referral.Status.DRAFT),
    )
    visible = Q(raised_by=user) | Q(agency_id__in=scope.lead_agency_ids)
    if scope.team_ids or scope.authority_ids:
        visible |= Q(Exists(referred))
    return Concern.objects.filter(visible)


def concern_get_for_user(*, user: User | Any, pk: Any) -> Concern:
    try:
        concern = (
            concern_list_for_user(user=user)
            .select_related("child", "agency", "raised_by")
            .get(pk=pk)
        )
    except (Concern.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=Concern, target_id=pk)
        raise Http404 from None
    audit_record(actor=user, action=AuditAction.VIEW, target=concern)
    return concern


def child_list_for_user(*, user: User | Any) -> QuerySet[Child]:
    """Children the person's agencies know: recorded by them, or in a record they may see."""
    scope = scope_for_user(user)
    if scope.is_empty:
        return Child.objects.none()
    concerns = Concern.objects.filter(child_id=OuterRef("pk"), agency_id__in=scope.agency_ids)
    referrals = referral_list_for_user(user=user).filter(child_id=OuterRef("pk"))
    return Child.objects.filter(
        Q(created_by_agency_id__in=scope.agency_ids) | Exists(concerns) | Exists(referrals)
    )


def child_get_for_user(*, user: User | Any, pk: Any) -> Child:
    try:
        child = child_list_for_user(user=user).get(pk=pk)
    except (Child.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=Child, target_id=pk)
        raise Http404 from None
    audit_record(actor=user, action=AuditAction.VIEW, target=child)
    return child
