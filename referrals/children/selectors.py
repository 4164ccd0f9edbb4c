"""Finding a child again: likely matches among the children the person may already see."""

from __future__ import annotations

import datetime

from agencies.models import User
from referrals.children.matching import (
    LIKELY_MATCH,
    NAME_ONLY_MATCH,
    Match,
    MatchQuery,
    child_matches,
)
from referrals.visibility import child_list_for_user

CHILD_MATCHES_SHOWN = 20


def child_find_for_user(
    *,
    user: User,
    first_name: str,
    last_name: str,
    date_of_birth: datetime.date | None,
    nhs_number: str = "",
    postcode: str = "",
) -> list[Match]:
    """Likely matches among the children the person may see, the closest first.

    Only the person's own children are searched, so a result never reveals a child another
    agency recorded.
    """
    query = MatchQuery(first_name, last_name, date_of_birth, postcode, nhs_number)
    # Without a date of birth only names can agree: offer weaker matches among one's own.
    minimum = LIKELY_MATCH if date_of_birth else NAME_ONLY_MATCH
    return child_matches(
        children=child_list_for_user(user=user),
        query=query,
        limit=CHILD_MATCHES_SHOWN,
        minimum=minimum,
    )
