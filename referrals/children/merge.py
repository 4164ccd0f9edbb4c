"""Writes about a child's identity: choosing a matched child, merging two records, undoing it.

A merge never moves a concern or a referral: the duplicate record points at the kept one
(`Child.merged_into`), so the authority's chronology and pattern rules read both, each agency
keeps seeing exactly its own records, and an authority manager undoes it by clearing the link.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agencies.capabilities import user_has_capability
from agencies.models import AgencyKind, User
from referrals.audit import audit_record
from referrals.children.matching import Match, MatchQuery, score_candidate
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, ChildMatchDecision
from referrals.patterns.services import pattern_flags_evaluate

NHS_LINK_ACTOR = "identity matching (same NHS number)"


def _authority_agency(user: User, child: Child, capability: str) -> None:
    """The person holds the capability in children's social care of the child's authority."""
    agencies = child.local_authority.agencies.filter(kind=AgencyKind.CHILDRENS_SOCIAL_CARE)
    if not any(
        user_has_capability(user=user, capability=capability, agency=agency) for agency in agencies
    ):
        raise ApplicationError(errors.PERMISSION_DENIED, code="permission_denied")


def child_match_choose(*, user: User, child: Child, match: Match | None) -> None:
    """Record that a person entering data chose an offered child (the match decision)."""
    audit_record(
        actor=user,
        action=AuditAction.MATCH,
        target=child,
        data={
            "score": match.score if match else None,
            "reasons": list(match.reasons) if match else [],
            "offered": match is not None,
        },
    )


def _lock_pair(kept: Child, duplicate: Child) -> tuple[Child, Child]:
    # Always lock in id order: two people merging the same pair opposite ways cannot deadlock.
    locked = {
        c.pk: c
        for c in Child.objects.select_for_update()
        .filter(pk__in=[kept.pk, duplicate.pk])
        .order_by("pk")
    }
    return locked[kept.pk], locked[duplicate.pk]


def _merge(
    *, kept: Child, duplicate: Child, user: User | None, actor_label: str = ""
) -> ChildMatchDecision:
    if kept.pk == duplicate.pk or kept.local_authority_id != duplicate.local_authority_id:
        raise ApplicationError(errors.MATCH_NOT_POSSIBLE)
    kept, duplicate = _lock_pair(kept, duplicate)
    # One level only: a merged record, or one that others were merged into, cannot be merged
    # away; so undoing any merge gives back exactly the records as they were.
    if (
        kept.merged_into_id is not None
        or duplicate.merged_into_id is not None
        or Child.objects.filter(merged_into=duplicate).exists()
    ):
        raise ApplicationError(errors.MATCH_ALREADY_MERGED, code="state")
    match = score_candidate(MatchQuery.of(duplicate), kept)
    decision = ChildMatchDecision.objects.create(
        kept=kept,
        duplicate=duplicate,
        outcome=ChildMatchDecision.Outcome.MERGED,
        score=match.score,
        reasons=list(match.reasons),
        decided_by=user,
        decided_at=timezone.now(),
    )
    duplicate.merged_into = kept
    duplicate.save(update_fields=["merged_into", "updated_at"])
    audit_record(
        actor=user,
        actor_label=actor_label,
        action=AuditAction.MERGE,
        target=duplicate,
        data={
            "kept": kept.pk,
            "decision": decision.pk,
            "score": match.score,
            "reasons": list(match.reasons),
        },
    )
    # Records that were apart may add up now.

    pattern_flags_evaluate(child=kept)
    return decision


@transaction.atomic
def child_merge(*, user: User, kept: Child, duplicate: Child) -> ChildMatchDecision:
    """Authority staff decide two records are the same child; the duplicate points at `kept`."""
    _authority_agency(user, kept, "referrals.merge_child")
    return _merge(kept=kept, duplicate=duplicate, user=user)


@transaction.atomic
def child_unmerge(*, user: User, decision: ChildMatchDecision, reason: str) -> ChildMatchDecision:
    """An authority manager undoes a merge: both records stand alone again."""
    decision = ChildMatchDecision.objects.select_for_update().get(pk=decision.pk)
    duplicate = Child.objects.select_for_update().get(pk=decision.duplicate_id)
    _authority_agency(user, duplicate, "referrals.unmerge_child")
    if decision.outcome != ChildMatchDecision.Outcome.MERGED or decision.reversed_at is not None:
        raise ApplicationError(errors.MATCH_NOT_MERGED, code="state")
    if not reason.strip():
        raise ApplicationError(errors.REASON_REQUIRED)
    decision.reversed_at = timezone.now()
    decision.reversed_by = user
    decision.reversal_reason = reason.strip()
    decision.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    duplicate.merged_into = None
    duplicate.save(update_fields=["merged_into", "updated_at"])
    audit_record(
        actor=user,
        action=AuditAction.UNMERGE,
        target=duplicate,
        data={"kept": decision.kept_id, "decision": decision.pk},
    )
    return decision


@transaction.atomic
def child_match_reject(*, user: User, child: Child, other: Child) -> ChildMatchDecision:
    """Authority staff decide two records are different children; the pair is not offered again."""
    _authority_agency(user, child, "referrals.merge_child")
    if child.pk == other.pk or child.local_authority_id != other.local_authority_id:
        raise ApplicationError(errors.MATCH_NOT_POSSIBLE)
    match = score_candidate(MatchQuery.of(other), child)
    decision = ChildMatchDecision.objects.create(
        kept=child,
        duplicate=other,
        outcome=ChildMatchDecision.Outcome.DIFFERENT,
        score=match.score,
        reasons=list(match.reasons),
        decided_by=user,
        decided_at=timezone.now(),
    )
    audit_record(
        actor=user,
        action=AuditAction.NOT_MATCH,
        target=child,
        data={"other": other.pk, "decision": decision.pk, "score": match.score},
    )
    return decision


def child_link_same_nhs_number(*, child: Child) -> ChildMatchDecision | None:
    """Link a newly recorded child to the authority's record with the same NHS number.

    The one automatic link: an NHS number is checksummed and unique to a person. Names and
    dates of birth never link anything without a person deciding (twins share both).
    """
    if not child.nhs_number:
        return None
    earlier = (
        Child.objects.filter(
            local_authority_id=child.local_authority_id,
            nhs_number=child.nhs_number,
            merged_into__isnull=True,
        )
        .exclude(pk=child.pk)
        .order_by("pk")
        .first()
    )
    if earlier is None:
        return None
    return _merge(kept=earlier, duplicate=child, user=None, actor_label=NHS_LINK_ACTOR)
