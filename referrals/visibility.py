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
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from agencies.capabilities import memberships_held
from agencies.models import (
    AUTHORITY_WIDE_ROLES,
    REFERRING_AGENCY_ROLES,
    SAFEGUARDING_LEAD_ROLES,
    SHARE_RECIPIENT_ROLES,
    TEAM_ROLES,
    AgencyKind,
    Membership,
    TeamKind,
    User,
)
from referrals.audit import audit_denied, audit_events_about, audit_record
from referrals.core import states
from referrals.core.states import Step
from referrals.models import (
    Attachment,
    AuditAction,
    AuditEvent,
    Child,
    Concern,
    Draft,
    HouseholdMember,
    Referral,
    ReferralEvent,
    ReferralGroupObjectPermission,
    Share,
)

# Whoever is asking: a person signed in, or nobody (who sees nothing).
Viewer = User | AnonymousUser


@dataclass(frozen=True)
class Scope:
    """What a person's memberships reach: ids only, read in one query."""

    agency_ids: frozenset[int]
    # Agencies whose concerns the person reviews (safeguarding leads).
    lead_agency_ids: frozenset[int]
    # Agencies whose referrals the person sees (leads, and the agency's own API client).
    referring_agency_ids: frozenset[int]
    team_ids: frozenset[int]
    authority_ids: frozenset[int]
    group_ids: frozenset[int]
    # Authorities whose open referrals the person covers out of hours (emergency duty team):
    # the escalation ladder alerts them, so they must be able to open what they are sent.
    duty_authority_ids: frozenset[int] = frozenset()
    # Authorities in whose children's social care the person works a team (the child view).
    team_authority_ids: frozenset[int] = frozenset()
    # The roles the person holds in active agencies (what the navigation may offer).
    roles: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not self.agency_ids


_EMPTY = Scope(frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset())


def scope_for_user(user: Viewer) -> Scope:
    """The person's reach, cached on the user object for the rest of the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return _EMPTY
    cached: Scope | None = getattr(user, "_safeguarding_scope", None)
    if cached is not None:
        return cached
    # The rows the capability checks read too: one query for both (agencies.capabilities).
    rows = [
        (
            m.agency_id,
            m.role,
            m.team_id,
            m.agency.kind,
            m.agency.local_authority_id,
            m.agency.group_id,
            m.team.kind if m.team is not None else None,
        )
        for m in (held.membership for held in memberships_held(user))
    ]
    agency_ids: set[int] = set()
    lead: set[int] = set()
    referring: set[int] = set()
    teams: set[int] = set()
    authorities: set[int] = set()
    groups: set[int] = set()
    duty: set[int] = set()
    team_authorities: set[int] = set()
    roles: set[str] = set()
    for agency_id, role, team_id, kind, authority_id, group_id, team_kind in rows:
        agency_ids.add(agency_id)
        roles.add(role)
        if group_id is not None and role in SHARE_RECIPIENT_ROLES:
            groups.add(group_id)
        if role in SAFEGUARDING_LEAD_ROLES:
            lead.add(agency_id)
        if role in REFERRING_AGENCY_ROLES:
            referring.add(agency_id)
        if role in TEAM_ROLES and team_id is not None:
            teams.add(team_id)
            if team_kind == TeamKind.EMERGENCY_DUTY:
                duty.add(authority_id)
            if kind == AgencyKind.CHILDRENS_SOCIAL_CARE:
                team_authorities.add(authority_id)
        if role in AUTHORITY_WIDE_ROLES and kind == AgencyKind.CHILDRENS_SOCIAL_CARE:
            authorities.add(authority_id)
    scope = Scope(
        frozenset(agency_ids),
        frozenset(lead),
        frozenset(referring),
        frozenset(teams),
        frozenset(authorities),
        frozenset(groups),
        frozenset(duty),
        frozenset(team_authorities),
        frozenset(roles),
    )
    user.__dict__["_safeguarding_scope"] = scope
    return scope


def _receiving_q(scope: Scope) -> Q:
    """Referrals this person works as the receiving authority (never drafts)."""
    return (
        Q(team_id__in=scope.team_ids) | Q(local_authority_id__in=scope.authority_ids)
    ) & states.received_q() | Q(local_authority_id__in=scope.duty_authority_ids) & states.status_q(
        states.OPEN
    )


def referral_list_for_user(*, user: User) -> QuerySet[Referral]:
    """Referrals the person may see: by membership, or shared with their agency."""
    scope = scope_for_user(user)
    if scope.is_empty:
        return Referral.objects.none()
    visible = (
        Q(referring_agency_id__in=scope.referring_agency_ids)
        | Q(referrer=user)
        | _receiving_q(scope)
    )
    if scope.group_ids:
        shared = ReferralGroupObjectPermission.objects.filter(
            content_object=OuterRef("pk"),
            group_id__in=scope.group_ids,
            permission__codename="view_referral",
        )
        # A share past its expiry date counts for nothing from that moment, whether or not
        # shares_expire has tidied its grant away yet.
        current = Share.objects.filter(
            referral=OuterRef("pk"),
            agency__group_id__in=scope.group_ids,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        visible |= Q(Exists(shared)) & Q(Exists(current))
    return Referral.objects.filter(visible)


def referral_get_for_user(*, user: User, pk: int | str) -> Referral:
    """One referral the person may see, with the read audited; Http404 otherwise."""
    try:
        referral = (
            referral_list_for_user(user=user)
            .select_related(
                "child", "referring_agency", "local_authority", "team", "owner", "decision"
            )
            .get(pk=pk)
        )
    except (Referral.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=Referral, target_id=pk)
        raise Http404 from None
    audit_record(actor=user, action=AuditAction.VIEW, target=referral)
    return referral


def referral_is_received_by(*, user: User, referral: Referral) -> bool:
    """Whether the person works this referral for the receiving authority."""
    scope = scope_for_user(user)
    if states.is_open(referral.status) and referral.local_authority_id in (
        scope.duty_authority_ids
    ):
        return True
    return referral.status in states.RECEIVED and (
        referral.team_id in scope.team_ids or referral.local_authority_id in scope.authority_ids
    )


def concern_list_for_user(*, user: User) -> QuerySet[Concern]:
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
        states.received_q(prefix="referral__"),
    )
    visible = Q(raised_by=user) | Q(agency_id__in=scope.lead_agency_ids)
    if scope.team_ids or scope.authority_ids:
        visible |= Q(Exists(referred))
    if scope.team_authority_ids or scope.authority_ids:
        # A low-level concern a lead shared with the front door (issue 9).
        visible |= Q(shared_with_authority_id__in=scope.team_authority_ids | scope.authority_ids)
    return Concern.objects.filter(visible)


def concern_get_for_user(*, user: User, pk: int | str) -> Concern:
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


def child_list_for_user(*, user: User) -> QuerySet[Child]:
    """Children the person's agencies know: recorded by them, or in a record they may see."""
    scope = scope_for_user(user)
    if scope.is_empty:
        return Child.objects.none()
    concerns = Concern.objects.filter(child_id=OuterRef("pk"), agency_id__in=scope.agency_ids)
    referrals = referral_list_for_user(user=user).filter(child_id=OuterRef("pk"))
    visible = (
        Q(created_by_agency_id__in=scope.agency_ids) | Q(Exists(concerns)) | Q(Exists(referrals))
    )
    if scope.team_authority_ids:
        visible |= Q(Exists(authority_received_referrals(scope).filter(child_id=OuterRef("pk"))))
    if scope.team_authority_ids or scope.authority_ids:
        shared = Concern.objects.filter(
            child_id=OuterRef("pk"),
            shared_with_authority_id__in=scope.team_authority_ids | scope.authority_ids,
        )
        visible |= Q(Exists(shared))
    return Child.objects.filter(visible)


def child_get_for_user(*, user: User, pk: int | str) -> Child:
    try:
        child = child_list_for_user(user=user).get(pk=pk)
    except (Child.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=Child, target_id=pk)
        raise Http404 from None
    audit_record(actor=user, action=AuditAction.VIEW, target=child)
    return child


def draft_list_for_user(*, user: User) -> QuerySet[Draft]:
    """A person's own open drafts; nobody else ever sees them. A closed one (made into a
    record, or deleted) holds nothing and is never offered back."""
    return Draft.objects.filter(owner_id=user.pk, closed_at__isnull=True).select_related(
        "child", "agency"
    )


def draft_get_for_user(*, user: User, kind: str, child: Child) -> Draft | None:
    return draft_list_for_user(user=user).filter(kind=kind, child=child).first()


def draft_version_for(*, user: User, kind: str, child: Child) -> int:
    """The version a form shown now carries, for its script to count up from: the open
    draft's; one above a closed one's, so this form's saves (even without the script) are
    numbered above all the closed form sent and are not refused; 0 when there is none."""
    stored = (
        Draft.objects.filter(owner_id=user.pk, kind=kind, child=child)
        .values_list("version", "closed_at")
        .first()
    )
    if stored is None:
        return 0
    version, closed_at = stored
    return version + 1 if closed_at is not None else version


def attachment_get_for_user(*, user: User, pk: int | str) -> Attachment:
    """A file on a concern or referral the person may see, its download audited; else 404."""
    visible = Q(concern__in=concern_list_for_user(user=user)) | Q(
        referral__in=referral_list_for_user(user=user)
    )
    try:
        attachment = Attachment.objects.filter(visible).get(pk=pk)
    except (Attachment.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=Attachment, target_id=pk)
        raise Http404 from None
    audit_record(
        actor=user,
        action=AuditAction.DOWNLOAD,
        target=attachment,
        data={"concern": attachment.concern_id, "referral": attachment.referral_id},
    )
    return attachment


class Audience(StrEnum):
    """Who is reading a referral, which decides which of its parts they see."""

    TEAM = "team"  # the receiving authority's children's social care
    REFERRER = "referrer"  # the person who referred and their agency's leads
    PARTNER = "partner"  # an agency it was shared with


# What an agency a referral is shared with sees of its timeline: the referral's own story,
# never the team's notes, staffing, escalations, the decision's rationale or other shares.
PARTNER_EVENT_KINDS = (
    ReferralEvent.Kind.SUBMITTED,
    ReferralEvent.Kind.ACKNOWLEDGED,
    ReferralEvent.Kind.INFORMATION_REQUESTED,
    ReferralEvent.Kind.INFORMATION_RECEIVED,
    ReferralEvent.Kind.FEEDBACK,
    ReferralEvent.Kind.TRANSFERRED,
    ReferralEvent.Kind.WITHDRAWN,
    ReferralEvent.Kind.CLOSED,
)
# Partners see that these happened (and the outcome), not the words written to the referrer.
PARTNER_TEXT_HIDDEN = (
    ReferralEvent.Kind.FEEDBACK,
    ReferralEvent.Kind.TRANSFERRED,
    ReferralEvent.Kind.WITHDRAWN,
)


def authority_received_referrals(scope: Scope) -> QuerySet[Referral]:
    """Every referral the authorities the person works children's social care in received."""
    return Referral.objects.filter(
        local_authority_id__in=scope.team_authority_ids | scope.authority_ids
    ).filter(states.received_q())


def referral_audience(*, user: User, referral: Referral) -> Audience:
    """Which parts of a referral the person sees (they may already see the referral).

    The team is the one that received it (and the authority's service managers, and the duty
    team while it is open): another team of the same authority is not, so it never reads this
    team's notes or rationale (docs/design.md, "Who sees what").
    """
    scope = scope_for_user(user)
    if referral_is_received_by(user=user, referral=referral):
        return Audience.TEAM
    if referral.referrer_id == user.pk or referral.referring_agency_id in (
        scope.referring_agency_ids
    ):
        return Audience.REFERRER
    return Audience.PARTNER


def referral_events_for_audience(
    events: QuerySet[ReferralEvent], audience: Audience
) -> QuerySet[ReferralEvent]:
    """The timeline events an audience sees: internal ones only for the team."""
    if audience == Audience.TEAM:
        return events
    events = events.filter(is_internal=False)
    if audience == Audience.PARTNER:
        events = events.filter(kind__in=PARTNER_EVENT_KINDS)
    return events


def event_text_for(event: ReferralEvent, audience: Audience) -> str:
    """An event's text as the audience may read it."""
    if audience == Audience.PARTNER and event.kind in PARTNER_TEXT_HIDDEN:
        return ""
    return event.text


# Who may read a record's access log ("who has seen this"): leads and managers.
ACCESS_LOG_ROLES = (*SAFEGUARDING_LEAD_ROLES, "team_manager", "service_manager")
ACCESS_LOG_LIMIT = 500


def user_may_read_access_log(*, user: User) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(
        user=user, role__in=ACCESS_LOG_ROLES, agency__is_active=True
    ).exists()


@dataclass(frozen=True)
class AccessLog:
    """A record's access log: the records it covers (ids by kind) and their latest events."""

    records: dict[str, list[int]]
    events: list[AuditEvent]


def access_log_for_user(
    *, user: User, child: Child | None = None, referral: Referral | None = None
) -> AccessLog:
    """Audit events about a record the person can see (through its selector): for a child,
    also about the concerns and referrals about the child that the person can see. Events
    about several records (a list or API page) count when they name one of these."""
    referral_ids = [referral.pk] if referral is not None else []
    records = {"referrals.referral": referral_ids}
    if child is not None:
        records["referrals.child"] = [child.pk]
        records["referrals.concern"] = list(
            concern_list_for_user(user=user).filter(child=child).values_list("pk", flat=True)
        )
        referral_ids += (
            referral_list_for_user(user=user).filter(child=child).values_list("pk", flat=True)
        )
    events = audit_events_about(records=records).select_related("actor", "agency")
    return AccessLog(records, list(events[:ACCESS_LOG_LIMIT]))


# Who may add to or act on a record they can see ------------------------------------------


def _author_or_lead(user: User, author_id: int | None, agency_id: int) -> bool:
    """The person who wrote a record, or a safeguarding lead of the agency it came from."""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        author_id == user.pk
        or Membership.objects.filter(
            user=user,
            agency_id=agency_id,
            agency__is_active=True,
            role__in=SAFEGUARDING_LEAD_ROLES,
        ).exists()
    )


def user_may_add_to_concern(*, user: User, concern: Concern) -> bool:
    """Addenda and files: the person who raised the concern and their agency's leads."""
    return _author_or_lead(user, concern.raised_by_id, concern.agency_id)


def user_is_referrer_side(*, user: User, referral: Referral) -> bool:
    """The person who referred, or a safeguarding lead of the referring agency."""
    return _author_or_lead(user, referral.referrer_id, referral.referring_agency_id)


def user_may_add_to_referral(*, user: User, referral: Referral) -> bool:
    """Files: the referrer's side and the receiving authority; not agencies it is shared with."""
    return referral_is_received_by(user=user, referral=referral) or user_is_referrer_side(
        user=user, referral=referral
    )


def user_may_withdraw_referral(*, user: User, referral: Referral) -> bool:
    """The referrer and their agency's leads, before the front door acknowledges it."""
    return states.allows(Step.WITHDRAW, referral.status) and user_is_referrer_side(
        user=user, referral=referral
    )


def user_is_authority_staff(*, user: User, child: Child) -> bool:
    """Children's social care of the child's authority: its teams and service managers."""
    scope = scope_for_user(user)
    return child.local_authority_id in scope.team_authority_ids | scope.authority_ids


def household_list_for_user(*, user: User, child: Child) -> QuerySet[HouseholdMember]:
    """Adults linked to the child: those the person's agencies recorded, and for the child's
    authority's children's social care, every one."""
    scope = scope_for_user(user)
    if scope.is_empty:
        return HouseholdMember.objects.none()
    visible = Q(agency_id__in=scope.agency_ids)
    if user_is_authority_staff(user=user, child=child):
        visible = Q()
    return (
        HouseholdMember.objects.filter(child_id__in=Child.objects.group_ids(child))
        .filter(visible)
        .select_related("agency")
    )
