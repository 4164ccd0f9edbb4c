"""Finding a child again: likely matches among the children the person may already see."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from agencies.models import Role, User
from referrals.children.matching import (
    BRANCH_LIMIT,
    LIKELY_MATCH,
    NAME_ONLY_MATCH,
    Match,
    MatchQuery,
    child_matches,
    score_candidate,
)
from referrals.models import Child
from referrals.visibility import child_list_for_user, scope_for_user

CHILD_MATCHES_SHOWN = 20
# One name and no date of birth can score at most 25 (a surname) or 20 (a first name): offer
# those at least about two-thirds alike, as NAME_ONLY_MATCH does for two names out of 45.
ONE_NAME_MATCH = 15
# Roles that read no child's record: finding one is not theirs to do.
_NO_CHILDREN_ROLES = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_SYSTEM})


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


def user_may_find_children(*, user: User) -> bool:
    """Whether "Find a child" is for this person: anyone whose roles read children's records."""
    return bool(scope_for_user(user).roles - _NO_CHILDREN_ROLES)


@dataclass(frozen=True)
class ChildSearch:
    """What a person typed to find a child again: kept in the session, never in a URL or log."""

    first_name: str = ""
    last_name: str = ""
    date_of_birth: datetime.date | None = None
    nhs_number: str = ""
    upn: str = ""

    @property
    def kinds(self) -> list[str]:
        """Which kinds of term were given (an audit row names these, never the terms)."""
        given = (
            ("name", bool(self.first_name or self.last_name)),
            ("date_of_birth", self.date_of_birth is not None),
            ("nhs_number", bool(self.nhs_number)),
            ("upn", bool(self.upn)),
        )
        return [kind for kind, present in given if present]

    def to_session(self) -> dict[str, str]:
        born = self.date_of_birth.isoformat() if self.date_of_birth else ""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "date_of_birth": born,
            "nhs_number": self.nhs_number,
            "upn": self.upn,
        }

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> ChildSearch:
        born = data.get("date_of_birth") or ""
        return cls(
            first_name=str(data.get("first_name", "")),
            last_name=str(data.get("last_name", "")),
            date_of_birth=datetime.date.fromisoformat(born) if born else None,
            nhs_number=str(data.get("nhs_number", "")),
            upn=str(data.get("upn", "")),
        )


@dataclass(frozen=True)
class ChildFound:
    """A child the person may see who may be the one searched for, and why in words."""

    child: Child
    why: str


def _exactly(children: QuerySet[Child], search: ChildSearch) -> list[ChildFound]:
    """Without a name, every term given must agree exactly (a date alone finds many)."""
    terms = {
        "date_of_birth": search.date_of_birth,
        "nhs_number": search.nhs_number,
        "upn": search.upn,
    }
    given = {column: value for column, value in terms.items() if value}
    words = {"date_of_birth": "date of birth", "nhs_number": "NHS number", "upn": "UPN"}
    why = "Same " + " and ".join(words[column] for column in given)
    found = children.filter(**given).order_by("last_name", "first_name", "pk")
    return [ChildFound(child, why) for child in found[:CHILD_MATCHES_SHOWN]]


def _one_name(children: QuerySet[Child], query: MatchQuery, minimum: int) -> list[Match]:
    """One name and no date: the matcher's trigram branch compares the whole name, which one
    word rarely resembles enough ("example" is 40% of "christopher example"), so the children
    whose name holds the word are scored too (`LIKE '%word%'` is served by the same GIN index)."""
    first, last, _name, _postcode = query.keys
    word = last or first
    if len(word) < 3:
        return []
    holding = children.filter(match_name__contains=word).order_by("pk")[:BRANCH_LIMIT]
    return [m for m in (score_candidate(query, c) for c in holding) if m.score >= minimum]


def _by_name(children: QuerySet[Child], search: ChildSearch) -> list[ChildFound]:
    """Names through the identity matcher: spelling slips, variants, the wrong way round."""
    query = MatchQuery(
        search.first_name, search.last_name, search.date_of_birth, "", search.nhs_number
    )
    one_name = not (search.first_name and search.last_name)
    if search.date_of_birth:
        minimum = LIKELY_MATCH
    else:
        minimum = ONE_NAME_MATCH if one_name else NAME_ONLY_MATCH
    matches = child_matches(
        children=children, query=query, limit=CHILD_MATCHES_SHOWN, minimum=minimum
    )
    if one_name and not search.date_of_birth:
        seen = {match.child.pk for match in matches}
        matches += [m for m in _one_name(children, query, minimum) if m.child.pk not in seen]
        matches.sort(key=lambda m: (-m.score, m.child.pk))
    found = [ChildFound(match.child, match.explanation) for match in matches]
    if search.upn:
        # A UPN is exact and decides, as an NHS number does: those children come first.
        same = list(children.filter(upn=search.upn).order_by("pk")[:CHILD_MATCHES_SHOWN])
        ids = {child.pk for child in same}
        found = [ChildFound(c, "Same UPN") for c in same] + [
            f for f in found if f.child.pk not in ids
        ]
    return found[:CHILD_MATCHES_SHOWN]


def child_search_for_user(*, user: User, search: ChildSearch) -> list[ChildFound]:
    """Children the person may see who may be the one searched for, the closest first.

    Not audited here: the page that shows them records the search.
    """
    children = child_list_for_user(user=user)
    if not search.kinds:
        return []
    if search.first_name or search.last_name:
        return _by_name(children, search)
    return _exactly(children, search)
