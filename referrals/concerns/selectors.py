"""The safeguarding lead's review queue."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from agencies.models import User
from referrals.core.choices import Urgency
from referrals.models import Concern
from referrals.visibility import concern_list_for_user, scope_for_user


def concern_review_queue_for_user(*, user: User) -> QuerySet[Concern]:
    """The new concerns of the agencies where the person is a lead: most urgent, oldest first."""
    scope = scope_for_user(user)
    rank = Case(
        When(urgency=Urgency.IMMEDIATE, then=Value(0)),
        When(urgency=Urgency.URGENT, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        concern_list_for_user(user=user)
        .filter(agency_id__in=scope.lead_agency_ids, status=Concern.Status.NEW)
        .annotate(urgency_rank=rank)
        .select_related("child", "raised_by", "agency")
        .order_by("urgency_rank", "created_at", "id")
    )
