"""When low-level concerns add up: sharing a concern with the front door, and pattern flags.

How concerns reach the authority: a referral carries its concerns, as before; and a
safeguarding lead may share one low-level concern with the child's authority's front door
without referring (`concern_share_with_authority`, recorded with a reason and audited). The
authority then sees that concern, and counts it.

A cumulative flag raises one queue item: a Referral of kind `pattern`, routed by the
authority's rules, with the contributing concerns linked to it. So the one escalation sweep,
the one ladder and the one audit trail apply to it unchanged: nobody acknowledging it in time
escalates it exactly once per rung. While that item is open, further concerns join it instead
of raising another. A repeat-referral flag marks the new referral itself, already in the queue.

Every evaluation locks the child's (kept) record first, so two concerns shared at the same
moment raise one flag, not two.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agencies.capabilities import require_capability
from agencies.models import LocalAuthority, User
from referrals.audit import audit_record
from referrals.clocks.running import referral_clocks_start
from referrals.core import errors, states
from referrals.core.choices import Urgency
from referrals.core.errors import ApplicationError
from referrals.core.states import Step
from referrals.models import (
    AuditAction,
    Child,
    Concern,
    Decision,
    NotificationKind,
    PatternFlag,
    PatternRule,
    Referral,
    ReferralEvent,
)
from referrals.outbox.notices import notifications_create
from referrals.outbox.recipients import team_members

FLAG_ACTOR = "pattern rules"


@transaction.atomic
def concern_share_with_authority(*, concern: Concern, user: User, reason: str) -> Concern:
    """A lead shares a low-level concern with the child's authority's front door, no referral."""
    concern = Concern.objects.select_for_update().select_related("child").get(pk=concern.pk)
    require_capability(user=user, capability="referrals.review_concern", agency=concern.agency)
    if concern.shared_with_authority_id is not None:
        raise ApplicationError(errors.CONCERN_ALREADY_SHARED, code="state")
    if not reason.strip():
        raise ApplicationError(errors.REASON_REQUIRED)
    concern.shared_with_authority_id = concern.child.local_authority_id
    concern.shared_at = timezone.now()
    concern.shared_by = user
    concern.share_reason = reason.strip()
    concern.save(
        update_fields=[
            "shared_with_authority",
            "shared_at",
            "shared_by",
            "share_reason",
            "updated_at",
        ]
    )
    audit_record(
        actor=user,
        action=AuditAction.SHARE,
        target=concern,
        agency=concern.agency,
        data={"authority": concern.shared_with_authority_id},
    )
    pattern_flags_evaluate(child=concern.child)
    return concern


DEFAULT_RULES = (
    {"kind": PatternRule.Kind.CUMULATIVE, "min_concerns": 3, "min_agencies": 2, "window_days": 90},
    {"kind": PatternRule.Kind.REPEAT_AFTER_NFA, "window_days": 365},
)


def pattern_rules_for(authority: LocalAuthority) -> list[PatternRule]:
    """The authority's active rules; an authority that never set any gets the defaults."""
    rules = list(PatternRule.objects.filter(local_authority=authority))
    if not rules:
        rules = [PatternRule.objects.create(local_authority=authority, **r) for r in DEFAULT_RULES]
    return [rule for rule in rules if rule.is_active]


def child_group_locked(child: Child) -> tuple[Child, list[int]]:
    """The kept record of a child, locked, and the ids of its group (Child.objects.group_ids)."""
    # The child's row only: locking the authority's row too would queue every submission in
    # the authority behind this one (and deadlock with writers checking their foreign keys).
    root = (
        Child.objects.select_for_update(of=("self",))
        .select_related("local_authority")
        .get(pk=child.merged_into_id or child.pk)
    )
    return root, Child.objects.group_ids(root)


def pattern_flags_evaluate(
    *, child: Child, referral: Referral | None = None, now: datetime.datetime | None = None
) -> list[PatternFlag]:
    """Apply the authority's rules to what it knows about the child; return flags raised."""
    now = now or timezone.now()
    root, ids = child_group_locked(child)
    raised: list[PatternFlag] = []
    for rule in pattern_rules_for(root.local_authority):
        if rule.kind == PatternRule.Kind.CUMULATIVE:
            flag = _cumulative(rule, root, ids, now)
        elif referral is not None and referral.kind == Referral.Kind.REFERRAL:
            flag = _repeat(rule, root, ids, referral)
        else:
            flag = None
        if flag is not None:
            raised.append(flag)
    return raised


def _cumulative(
    rule: PatternRule, root: Child, ids: list[int], now: datetime.datetime
) -> PatternFlag | None:
    authority_id = root.local_authority_id
    since = now - datetime.timedelta(days=rule.window_days)
    referred = Q(
        referrals__local_authority_id=authority_id,
        referrals__kind=Referral.Kind.REFERRAL,
        referrals__status__in=states.RECEIVED,
    )
    concerns = list(
        Concern.objects.filter(child_id__in=ids, observed_at__gte=since)
        .filter(Q(shared_with_authority_id=authority_id) | referred)
        .distinct()
        .order_by("observed_at", "id")
    )
    # A referral made without a recorded concern (police, health) counts once, as itself.
    referrals = list(
        Referral.objects.filter(
            child_id__in=ids,
            local_authority_id=authority_id,
            kind=Referral.Kind.REFERRAL,
            status__in=states.RECEIVED,
            submitted_at__gte=since,
            concerns__isnull=True,
        ).order_by("submitted_at", "id")
    )
    agencies = {c.agency_id for c in concerns} | {r.referring_agency_id for r in referrals}
    if len(concerns) + len(referrals) < rule.min_concerns or len(agencies) < rule.min_agencies:
        return None
    flags = PatternFlag.objects.filter(child_id__in=ids, rule=rule)
    open_flag = (
        flags.filter(states.status_q(states.OPEN, prefix="item__")).select_related("item").first()
    )
    if open_flag is not None:
        _join(open_flag, concerns, referrals)
        return None
    seen_concerns = set(flags.values_list("concerns", flat=True))
    seen_referrals = set(flags.values_list("referrals", flat=True))
    if {c.pk for c in concerns} <= seen_concerns and {r.pk for r in referrals} <= seen_referrals:
        return None  # the front door has looked at all of these already
    return _raise(rule, root, concerns, referrals, len(agencies), now)


def _summary(rule: PatternRule, count: int, agencies: int) -> str:
    return (
        f"{count} concerns from {agencies} agencies within {rule.window_days} days "
        f"(rule: {rule.describe()})."
    )


def _raise(
    rule: PatternRule,
    root: Child,
    concerns: list[Concern],
    referrals: list[Referral],
    agencies: int,
    now: datetime.datetime,
) -> PatternFlag:
    """A pattern item in the front door's queue, with its clocks running like a referral's."""
    summary = _summary(rule, len(concerns) + len(referrals), agencies)
    item = Referral(
        kind=Referral.Kind.PATTERN,
        child=root,
        local_authority=root.local_authority,
        referrer=None,
        referrer_name="Pattern rules",
        urgency=Urgency.STANDARD,
        reason=summary,
        consent=Referral.Consent.NOT_SOUGHT,
        consent_reason="Raised by the service from what agencies shared; nobody referred.",
    )
    # Into the queue the one way every referral enters it.
    states.transition(item, Step.SUBMIT)
    referral_clocks_start(referral=item, now=now)
    assert item.team is not None  # noqa: S101 - routing raises when no team takes it
    # Children's social care raised it: it is the authority's own item, not a CIN referral.
    item.referring_agency = item.team.agency
    item.save()
    item.concerns.set(concerns)
    flag = PatternFlag.objects.create(
        child=root, rule=rule, item=item, raised_at=now, summary=summary[:200]
    )
    flag.concerns.set(concerns)
    flag.referrals.set(referrals)
    ReferralEvent.objects.create(
        referral=item, kind=ReferralEvent.Kind.SUBMITTED, agency=item.team.agency, text=summary
    )
    audit_record(
        actor=None,
        actor_label=FLAG_ACTOR,
        action=AuditAction.FLAG,
        target=item,
        data={
            "flag": flag.pk,
            "rule": rule.pk,
            "child": root.pk,
            "concerns": [c.pk for c in concerns],
            "referrals": [r.pk for r in referrals],
            "team": item.team_id,
        },
    )
    notifications_create(
        recipients=team_members(team_id=item.team_id),
        subject="A pattern of concerns is in your queue",
        kind=NotificationKind.PATTERN,
        body=f"Pattern #{item.pk}: {summary} It needs acknowledging.",
        referral=item,
    )
    return flag


def _join(flag: PatternFlag, concerns: list[Concern], referrals: list[Referral]) -> None:
    """New concerns about a child whose pattern is still open join it: one flag, not two."""
    counted_concerns = set(flag.concerns.values_list("pk", flat=True))
    counted_referrals = set(flag.referrals.values_list("pk", flat=True))
    new_concerns = [c for c in concerns if c.pk not in counted_concerns]
    new_referrals = [r for r in referrals if r.pk not in counted_referrals]
    if not new_concerns and not new_referrals:
        return
    flag.concerns.add(*new_concerns)
    flag.referrals.add(*new_referrals)
    flag.item.concerns.add(*new_concerns)
    count = len(new_concerns) + len(new_referrals)
    ReferralEvent.objects.create(
        referral=flag.item,
        kind=ReferralEvent.Kind.NOTE,
        is_internal=True,
        agency=flag.item.team.agency if flag.item.team else None,
        text=f"{count} more {'concern' if count == 1 else 'concerns'} joined this pattern.",
    )
    audit_record(
        actor=None,
        actor_label=FLAG_ACTOR,
        action=AuditAction.FLAG,
        target=flag.item,
        data={
            "flag": flag.pk,
            "joined_concerns": [c.pk for c in new_concerns],
            "joined_referrals": [r.pk for r in new_referrals],
        },
    )


def _repeat(
    rule: PatternRule, root: Child, ids: list[int], referral: Referral
) -> PatternFlag | None:
    """A referral within the window of an earlier 'no further action': mark it in the queue."""
    received = referral.submitted_at or timezone.now()
    earlier = (
        Referral.objects.filter(
            child_id__in=ids,
            local_authority_id=referral.local_authority_id,
            kind=Referral.Kind.REFERRAL,
            decision__outcome=Decision.Outcome.NO_FURTHER_ACTION,
            decided_at__gte=received - datetime.timedelta(days=rule.window_days),
        )
        .exclude(pk=referral.pk)
        .order_by("-decided_at", "-id")
        .first()
    )
    if earlier is None or PatternFlag.objects.filter(item=referral).exists():
        return None
    decided = earlier.decided_at or received
    summary = (
        f"Repeat referral: 'no further action' was decided on referral #{earlier.pk} "
        f"on {decided:%d %B %Y} (rule: {rule.describe()})."
    )
    flag = PatternFlag.objects.create(
        child=root, rule=rule, item=referral, raised_at=received, summary=summary[:200]
    )
    flag.referrals.set([earlier])
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.NOTE,
        is_internal=True,
        agency=referral.team.agency if referral.team else None,
        text=summary,
    )
    audit_record(
        actor=None,
        actor_label=FLAG_ACTOR,
        action=AuditAction.FLAG,
        target=referral,
        data={"flag": flag.pk, "rule": rule.pk, "child": root.pk, "earlier": earlier.pk},
    )
    return flag
