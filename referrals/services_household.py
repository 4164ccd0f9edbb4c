"""Adults linked to a child: parents, carers, a parent's partner, others in the household."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agencies.models import Agency, User
from referrals import errors
from referrals.audit import audit_record
from referrals.errors import ApplicationError
from referrals.models import AuditAction, Child, HouseholdMember
from referrals.permissions import user_has_capability


@transaction.atomic
def household_member_add(
    *, user: User, agency: Agency, child: Child, **fields: Any
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
