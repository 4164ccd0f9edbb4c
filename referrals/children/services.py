"""Recording a child that no agency has recorded before."""

from __future__ import annotations

import datetime
from typing import TypedDict, Unpack

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
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


_BORN_OR_UNBORN = next(c for c in Child._meta.constraints if c.name == "child_born_or_unborn")


# In the caller's transaction when there is one (an API submission): nothing catches a failure
# halfway, so no savepoint (two round trips).
@transaction.atomic(savepoint=False)
def child_create(*, user: User, agency: Agency, **fields: Unpack[ChildFields]) -> Child:
    """Record a child that no agency has recorded before."""
    child = Child(created_by_agency=agency, **fields)
    named = fields.get("local_authority_id")
    child.local_authority_id = named or agency.local_authority_id
    # The agency (and its authority, unless another was named) are rows already read: no need
    # to look them up again (PostgreSQL checks them). The one check constraint is asked here:
    # Django asks the database, in a savepoint, three round trips.
    child.full_clean(
        exclude=["created_by_agency", *([] if named else ["local_authority"])],
        validate_constraints=False,
    )
    if child.date_of_birth is not None and child.expected_date_of_birth is not None:
        message = _BORN_OR_UNBORN.get_violation_error_message()
        raise ValidationError({NON_FIELD_ERRORS: [message]})
    child.save()
    audit_record(actor=user, action=AuditAction.CREATE, target=child, agency=agency)
    # The authority's one picture of the child: the same NHS number is the same child.
    linked = child_link_same_nhs_number(child=child)
    if linked is not None:
        child.merged_into_id = linked.kept_id  # as the merge left the row
    return child
