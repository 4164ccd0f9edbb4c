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
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from agencies.capabilities import require_capability
from agencies.models import LocalAuthority, User
from referrals.audit import audit_record
from referrals.clocks.routing import instances_from, read_with_authority
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
# Where the rules read with the authority (routing.authority_query) are kept on its instance.
PATTERN_RULES = "pattern_rules_read"
_RULE_FIELDS = [f.attname for f in PatternRule._meta.concrete_fields]


def pattern_rules_read() -> dict[str, Any]:
    """The authority's pattern rules, to read with it: `authority_query(**this)`."""
    return {PATTERN_RULES: read_with_authority(PatternRule.objects.all(), _RULE_FIELDS)}


def pattern_rules_for(authority: LocalAuthority) -> list[PatternRule]:
    """The authority's active rules (as read with it, or now); an authority that never set
    any gets the defaults."""
    rows: list[dict[str, Any]] | None = getattr(authority, PATTERN_RULES, None)
    if rows is None:
        rules = list(PatternRule.objects.filter(local_authority=authority).order_by("kind", "id"))
    else:
        rules = sorted(instances_from(PatternRule, rows), key=lambda rule: (rule.kind, rule.pk))
    if not rules:
        rules = [PatternRule.objects.create(local_authority=authority, **r) for r in DEFAULT_RULES]
    return [rule for rule in rules if rule.is_active]


def _root_locked(child: Child) -> Child:
    """The kept record of a child, locked, with its authority."""
    # The child's row only: locking the authority's row too would queue every submission in
    # the authority behind this one (and deadlock with writers checking their foreign keys).
    locked = Child.objects.select_for_update(of=("self",)).select_related("local_authority")
    root = locked.get(pk=child.merged_into_id or child.pk)
    if root.merged_into_id is not None:  # merged since the caller read it (an NHS number link)
        root = locked.get(pk=root.merged_into_id)
    return root


def child_group_locked(child: Child) -> tuple[Child, list[int]]:
    """The kept record of a child, locked, and the ids of its group (Child.objects.group_ids)."""
    root = _root_locked(child)
    return root, Child.objects.group_ids(root)


def _group(root: Child) -> QuerySet[Child, Any]:
    """The ids of the child's group, as a subquery (Child.objects.group_ids, in SQL)."""
    return Child.objects.filter(Q(pk=root.pk) | Q(merged_into_id=root.pk)).values("pk")


class _Item(NamedTuple):
    """What a rule counts: a concern the authority has, a referral it received without a
    concern of its own, or an earlier referral it closed with 'no further action'."""

    kind: str
    pk: int
    agency_id: int
    at: datetime.datetime


CONCERN, REFERRAL, NO_FURTHER_ACTION = "concern", "referral", "nfa"


def _items(
    root: Child,
    rules: list[PatternRule],
    referral: Referral | None,
    now: datetime.datetime,
) -> list[_Item]:
    """Everything every rule counts, in one query over the widest window, in time order."""
    authority_id = root.local_authority_id
    group = _group(root)
    parts: list[QuerySet[Any, Any]] = []
    cumulative = [r.window_days for r in rules if r.kind == PatternRule.Kind.CUMULATIVE]
    if cumulative:
        since = now - datetime.timedelta(days=max(cumulative))
        received = Referral.objects.filter(
            local_authority_id=authority_id,
            kind=Referral.Kind.REFERRAL,
            status__in=states.RECEIVED,
        )
        referred = Exists(received.filter(concerns=OuterRef("pk")))
        parts.append(
            Concern.objects.filter(child_id__in=group, observed_at__gte=since)
            .filter(Q(shared_with_authority_id=authority_id) | referred)
            .annotate(item=Value(CONCERN))
            .values_list("item", "pk", "agency_id", "observed_at")
        )
        # A referral made without a recorded concern (police, health) counts once, as itself.
        parts.append(
            received.filter(child_id__in=group, submitted_at__gte=since, concerns__isnull=True)
            .annotate(item=Value(REFERRAL))
            .values_list("item", "pk", "referring_agency_id", "submitted_at")
        )
    repeat = [r.window_days for r in rules if r.kind == PatternRule.Kind.REPEAT_AFTER_NFA]
    if repeat and referral is not None and referral.kind == Referral.Kind.REFERRAL:
        received_at = referral.submitted_at or now
        parts.append(
            Referral.objects.filter(
                child_id__in=group,
                local_authority_id=referral.local_authority_id,
                kind=Referral.Kind.REFERRAL,
                decision__outcome=Decision.Outcome.NO_FURTHER_ACTION,
                decided_at__gte=received_at - datetime.timedelta(days=max(repeat)),
            )
            .exclude(pk=referral.pk)
            .annotate(item=Value(NO_FURTHER_ACTION))
            .values_list("item", "pk", "referring_agency_id", "decided_at")
        )
    if not parts:
        return []
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return sorted((_Item(*row) for row in rows), key=lambda item: (item.at, item.pk))


def pattern_flags_evaluate(
    *,
    child: Child,
    referral: Referral | None = None,
    now: datetime.datetime | None = None,
    held: bool = False,
    standalone: bool = False,
) -> list[PatternFlag]:
    """Apply the authority's rules to what it knows about the child; return flags raised.

    The rules are read once (with the authority, when the caller read it so) and everything
    they count in one query, whatever the number of rules. `held`: the caller locked the
    child's row or recorded it in this transaction, so a kept record needs no lock again.
    `standalone`: recorded in this transaction and linked to no other record, so `referral`
    (without concerns) is all there is about the child, and nothing more is read.
    """
    now = now or timezone.now()
    alone = standalone and referral is not None and referral.kind == Referral.Kind.REFERRAL
    mine = (held or standalone) and child.merged_into_id is None
    root = child if mine else _root_locked(child)
    if referral is not None and referral.local_authority_id == root.local_authority_id:
        root.local_authority = referral.local_authority  # as read with its rules
    rules = pattern_rules_for(root.local_authority)
    if alone and referral is not None:
        at = referral.submitted_at or now
        items = [_Item(REFERRAL, referral.pk, referral.referring_agency_id, at)]
    else:
        items = _items(root, rules, referral, now)
    raised: list[PatternFlag] = []
    for rule in rules:
        if rule.kind == PatternRule.Kind.CUMULATIVE:
            flag = _cumulative(rule, root, items, now)
        elif referral is not None and referral.kind == Referral.Kind.REFERRAL:
            flag = _repeat(rule, root, items, referral)
        else:
            flag = None
        if flag is not None:
            raised.append(flag)
    return raised


def _cumulative(
    rule: PatternRule, root: Child, items: list[_Item], now: datetime.datetime
) -> PatternFlag | None:
    since = now - datetime.timedelta(days=rule.window_days)
    concerns = [i.pk for i in items if i.kind == CONCERN and i.at >= since]
    referrals = [i.pk for i in items if i.kind == REFERRAL and i.at >= since]
    agencies = {i.agency_id for i in items if i.kind in (CONCERN, REFERRAL) and i.at >= since}
    if len(concerns) + len(referrals) < rule.min_concerns or len(agencies) < rule.min_agencies:
        return None
    flags = PatternFlag.objects.filter(child_id__in=_group(root), rule=rule)
    open_flag = (
        flags.filter(states.status_q(states.OPEN, prefix="item__"))
        .select_related("item__team")
        .first()
    )
    if open_flag is not None:
        _join(open_flag, concerns, referrals)
        return None
    seen_concerns = set(flags.values_list("concerns", flat=True))
    seen_referrals = set(flags.values_list("referrals", flat=True))
    if set(concerns) <= seen_concerns and set(referrals) <= seen_referrals:
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
    concerns: list[int],
    referrals: list[int],
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
    item.referring_agency_id = item.team.agency_id
    item.save()
    item.concerns.set(concerns)
    flag = PatternFlag.objects.create(
        child=root, rule=rule, item=item, raised_at=now, summary=summary[:200]
    )
    flag.concerns.set(concerns)
    flag.referrals.set(referrals)
    ReferralEvent.objects.create(
        referral=item,
        kind=ReferralEvent.Kind.SUBMITTED,
        agency_id=item.team.agency_id,
        text=summary,
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
            "concerns": concerns,
            "referrals": referrals,
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


def _join(flag: PatternFlag, concerns: list[int], referrals: list[int]) -> None:
    """New concerns about a child whose pattern is still open join it: one flag, not two."""
    counted_concerns = set(flag.concerns.values_list("pk", flat=True))
    counted_referrals = set(flag.referrals.values_list("pk", flat=True))
    new_concerns = [pk for pk in concerns if pk not in counted_concerns]
    new_referrals = [pk for pk in referrals if pk not in counted_referrals]
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
        agency_id=flag.item.team.agency_id if flag.item.team else None,
        text=f"{count} more {'concern' if count == 1 else 'concerns'} joined this pattern.",
    )
    audit_record(
        actor=None,
        actor_label=FLAG_ACTOR,
        action=AuditAction.FLAG,
        target=flag.item,
        data={
            "flag": flag.pk,
            "joined_concerns": new_concerns,
            "joined_referrals": new_referrals,
        },
    )


def _repeat(
    rule: PatternRule, root: Child, items: list[_Item], referral: Referral
) -> PatternFlag | None:
    """A referral within the window of an earlier 'no further action': mark it in the queue."""
    received = referral.submitted_at or timezone.now()
    since = received - datetime.timedelta(days=rule.window_days)
    earlier = max(
        (i for i in items if i.kind == NO_FURTHER_ACTION and i.at >= since),
        key=lambda item: (item.at, item.pk),
        default=None,
    )
    if earlier is None or PatternFlag.objects.filter(item=referral).exists():
        return None
    summary = (
        f"Repeat referral: 'no further action' was decided on referral #{earlier.pk} "
        f"on {earlier.at:%d %B %Y} (rule: {rule.describe()})."
    )
    flag = PatternFlag.objects.create(
        child=root, rule=rule, item=referral, raised_at=received, summary=summary[:200]
    )
    flag.referrals.set([earlier.pk])
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.NOTE,
        is_internal=True,
        agency_id=referral.team.agency_id if referral.team else None,
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
