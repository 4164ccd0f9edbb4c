"""Recording a child that no agency has recorded before."""

from __future__ import annotations

import datetime
from typing import TypedDict, Unpack

from django.db import transaction

from agencies.models import Agency, User
from referrals.audit import audit_record
from referrals.children.merge import child_link_same_nhs_number
from referrals.models import AuditAction, Child


class ChildFields(TypedDict, total=False):
    """What a person or an agency's system may say about a child (Child's own fields)."""

    first_name: str
    last_name: str
    other_names: str
    date_of_birth: datetime.date | None
    expected_date_of_birth: datetime.date | None
    sex: str
    address: str
    postcode: str
    nhs_number: str
    upn: str
    local_authority_id: int


@transaction.atomic
def child_create(*, user: User, agency: Agency, **fields: Unpack[ChildFields]) -> Child:
    """Record a child that no agency has recorded before."""
    child = Child(created_by_agency=agency, **fields)
    child.local_authority_id = fields.get("local_authority_id") or agency.local_authority_id
    # The agency is a row already read: no need to look it up again (PostgreSQL checks it).
    child.full_clean(exclude=["created_by_agency"])
    child.save()
    audit_record(actor=user, action=AuditAction.CREATE, target=child, agency=agency)
    # The authority's one picture of the child: the same NHS number is the same child.
    child_link_same_nhs_number(child=child)
    return child
