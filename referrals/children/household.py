"""Adults linked to a child: parents, carers, a parent's partner, others in the household."""

from __future__ import annotations

import datetime
from typing import TypedDict, Unpack

from django.db import transaction

from agencies.capabilities import user_has_capability
from agencies.models import Agency, User
from referrals.audit import audit_record
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, HouseholdMember


class HouseholdFields(TypedDict, total=False):
    """What is recorded about an adult linked to a child (HouseholdMember's own fields)."""

    first_name: str
    last_name: str
    date_of_birth: datetime.date | None
    relationship: str
    lives_with_child: bool
    joined_on: datetime.date | None
    notes: str


@transaction.atomic
def household_member_add(
    *, user: User, agency: Agency, child: Child, **fields: Unpack[HouseholdFields]
) -> HouseholdMember:
    """Record an adult linked to the child; it shows in the child's chronology."""
    if not user_has_capability(user=user, capability="referrals.add_concern", agency=agency):
        raise ApplicationError(errors.HOUSEHOLD_NOT_ALLOWED, code="permission_denied")
    member = HouseholdMember(child=child, agency=agency, recorded_by=user, **fields)
    member.full_clean()
    member.save()
    audit_record(
        actor=user,
        action=AuditAction.CREATE,
        target=member,
        agency=agency,
        data={"child": child.pk, "relationship": member.relationship},
    )
    return member
