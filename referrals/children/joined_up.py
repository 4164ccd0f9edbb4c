"""Reads for the joined-up picture: a child's merged records, likely duplicates, the household
and other children at the same address.

Duplicates and children at the same address are offered to the child's authority's children's
social care only, over the authority's children; everyone else matches only among the children
they may already see (selectors.child_find_for_user).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from agencies.models import User
from referrals.audit import audit_record_many
from referrals.children.matching import BRANCH_LIMIT, Match, MatchQuery, child_matches
from referrals.core.match_keys import fold, similarity
from referrals.models import AuditAction, Child, ChildMatchDecision, PatternFlag, Referral
from referrals.visibility import (
    child_list_for_user,
    household_list_for_user,
    user_is_authority_staff,
)


def authority_children(child: Child) -> QuerySet[Child]:
    """The authority's records that stand on their own (not merged into another)."""
    return Child.objects.filter(
        local_authority_id=child.local_authority_id, merged_into__isnull=True
    )


def _decided_with(child: Child) -> set[int]:
    """Records already decided about with this one (merged, or not the same child)."""
    decided = ChildMatchDecision.objects.filter(
        Q(kept=child) | Q(duplicate=child), reversed_at__isnull=True
    ).values_list("kept_id", "duplicate_id")
    return {pk for pair in decided for pk in pair}


def child_duplicates_for_user(*, user: User, child: Child) -> list[Match]:
    """Likely other records of this child in the authority, for its children's social care."""
    if not user_is_authority_staff(user=user, child=child):
        return []
    exclude = set(Child.objects.group_ids(child)) | _decided_with(child)
    return child_matches(
        children=authority_children(child), query=MatchQuery.of(child), exclude=exclude
    )


def child_merges(*, child: Child) -> QuerySet[ChildMatchDecision]:
    """Standing merges of the child's group, for the page that shows and undoes them."""
    group = Child.objects.group_ids(child)
    return ChildMatchDecision.objects.filter(
        outcome=ChildMatchDecision.Outcome.MERGED,
        reversed_at__isnull=True,
        duplicate_id__in=group,
    ).select_related("decided_by", "duplicate__created_by_agency", "kept")


def _first_line(address: str) -> str:
    lines = [line for line in address.splitlines() if line.strip()]
    return fold(lines[0]) if lines else ""


def _house(line: str) -> str:
    """The house number in an address line ("12a"), or "" when it has none."""
    found = re.search(r"\b\d+[a-z]?\b", line)
    return found.group(0) if found else ""


def same_address(a: Child, b: Child) -> bool:
    """Same postcode, and the same house number (or, without numbers, a near first line)."""
    if not a.match_postcode or a.match_postcode != b.match_postcode:
        return False
    line_a, line_b = _first_line(a.address), _first_line(b.address)
    if not line_a or not line_b:
        return False
    house_a, house_b = _house(line_a), _house(line_b)
    if house_a or house_b:
        return house_a == house_b
    return similarity(line_a, line_b) >= 0.7


@dataclass(frozen=True)
class Neighbour:
    child: Child
    # Whether the person may open the other child's page (else its name and date only).
    may_open: bool


def children_at_address_for_user(*, user: User, child: Child) -> list[Neighbour]:
    """Other children the authority knows at the child's address, for its social care."""
    if not user_is_authority_staff(user=user, child=child) or not child.match_postcode:
        return []
    group = Child.objects.group_ids(child)
    nearby = list(
        authority_children(child)
        .filter(match_postcode=child.match_postcode)
        .exclude(pk__in=group)
        .order_by("date_of_birth", "pk")[:BRANCH_LIMIT]
    )
    here = [other for other in nearby if same_address(child, other)]
    visible = set(
        child_list_for_user(user=user)
        .filter(pk__in=[o.pk for o in here])
        .values_list("pk", flat=True)
    )
    return [Neighbour(other, other.pk in visible) for other in here]


def joined_up_context(*, user: User, child: Child) -> dict[str, Any]:
    """What the child's page adds for the joined-up picture (the reads are the selectors')."""
    staff = user_is_authority_staff(user=user, child=child)
    return {
        "household": list(household_list_for_user(user=user, child=child)),
        "is_authority_staff": staff,
        "duplicates": child_duplicates_for_user(user=user, child=child) if staff else [],
        "merged": len(Child.objects.group_ids(child)) > 1 if staff else False,
        "neighbours": children_at_address_for_user(user=user, child=child) if staff else [],
    }


def referral_joined_up_context(*, user: User, referral: Referral) -> dict[str, Any]:
    """For the receiving authority on a referral page: its flag, likely duplicates, address."""

    child = referral.child
    flag = PatternFlag.objects.filter(item=referral).first()
    neighbours = children_at_address_for_user(user=user, child=child)
    duplicates = child_duplicates_for_user(user=user, child=child)
    shown = [n.child for n in neighbours] + [m.child for m in duplicates]
    if shown:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=shown)
    return {
        "pattern_flag": flag,
        "pattern_referrals": list(flag.referrals.select_related("referring_agency"))
        if flag
        else [],
        "neighbours": neighbours,
        "duplicates": duplicates,
    }
