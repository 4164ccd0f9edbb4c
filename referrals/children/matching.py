"""Identity matching: is this the same child as one already known?

An exact NHS number settles it. Otherwise a score from 0 to 100 adds up evidence that people
can read: the date of birth (also with day and month swapped), the surname (also one part of a
hyphenated name), the first name (also a known variant: Jon and John, Mohammed and Muhammad),
names the wrong way round, spelling slips, and the postcode.

Names are compared through search keys stored on the child (`match_first`, `match_last`,
`match_name`, `match_postcode`): folded to plain lower-case letters, hyphens and apostrophes
removed, first names mapped to one spelling per variant group. Candidates come from indexes,
never from a loop over children:

- PostgreSQL: the same date of birth or its day/month swap, the same postcode (b-tree
  indexes), and names trigram-similar to the search (`%` on a GIN pg_trgm index over
  `match_name`), each branch bounded; then the bounded set is scored.
- Other databases (the SQLite demo): the same dates and postcode, plus the same surname key or
  first-name key, bounded, then scored the same way. Slower and blind to a misspelt surname
  with an unknown date of birth, which is acceptable for a demo.

Scoring is one Python function for both (`score_candidate`), using the pg_trgm similarity
formula, so a result explains itself identically whichever database answered.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.lookups import TrigramSimilar
from django.db import connection, models, transaction
from django.db.models import Q, QuerySet

from referrals.core.match_keys import canonical_first, fold, match_keys, similarity
from referrals.models import Child

# The `%` operator (pg_trgm) on any CharField, without installing django.contrib.postgres.
models.CharField.register_lookup(TrigramSimilar)

# A score at or above this is offered as a likely match; nothing is ever merged on a score.
LIKELY_MATCH = 40
# Searching without a date of birth, names alone can reach 45: offer from this score.
NAME_ONLY_MATCH = 30
# Each candidate branch reads at most this many rows: the answer time stays flat at any size.
BRANCH_LIMIT = 200
# Name candidates must share this much of their trigrams with the search (pg_trgm's `%`).
NAME_SIMILARITY_THRESHOLD = 0.45


def _swapped(day: datetime.date) -> datetime.date | None:
    """The date with day and month exchanged (3/7 for 7/3), when that is a real, other date."""
    if day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


@dataclass(frozen=True)
class MatchQuery:
    """What the person typed about the child."""

    first_name: str
    last_name: str
    date_of_birth: datetime.date | None = None
    postcode: str = ""
    nhs_number: str = ""

    @property
    def keys(self) -> tuple[str, str, str, str]:
        return match_keys(
            first_name=self.first_name, last_name=self.last_name, postcode=self.postcode
        )

    @classmethod
    def of(cls, child: Child) -> MatchQuery:
        return cls(
            first_name=child.first_name,
            last_name=child.last_name,
            date_of_birth=child.date_of_birth,
            postcode=child.postcode,
            nhs_number=child.nhs_number,
        )


# Reason codes, stored in audit rows and decisions, and their words on screen.
REASONS: dict[str, str] = {
    "nhs_number": "same NHS number",
    "nhs_number_differs": "different NHS number",
    "dob": "same date of birth",
    "dob_swapped": "date of birth with day and month swapped",
    "dob_close": "date of birth one slip away",
    "dob_differs": "different date of birth",
    "surname": "same surname",
    "surname_part": "shares part of a double-barrelled surname",
    "surname_similar": "similar surname",
    "first_name": "same first name",
    "first_name_variant": "first name is a variant of the same name",
    "first_name_similar": "similar first name",
    "names_swapped": "first and last names the other way round",
    "postcode": "same postcode",
    "postcode_area": "same postcode district",
    "postcode_differs": "different postcode",
}


@dataclass(frozen=True)
class Match:
    """A known child who may be the one searched for, and why."""

    child: Child
    score: int
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        words = [REASONS[code] for code in self.reasons]
        text = ", ".join(words)
        return text[:1].upper() + text[1:]

    @property
    def is_likely(self) -> bool:
        return self.score >= LIKELY_MATCH


def _dob_points(query: datetime.date | None, known: datetime.date | None) -> tuple[int, str]:
    if query is None or known is None:
        return 0, ""
    if query == known:
        return 35, "dob"
    if _swapped(query) == known:
        return 25, "dob_swapped"
    same = sum((query.year == known.year, query.month == known.month, query.day == known.day))
    if same == 2:
        return 15, "dob_close"
    return -15, "dob_differs"


def _surname(a: str, b: str) -> tuple[int, str]:
    """Up to 25 points for surnames (folded)."""
    if not a or not b:
        return 0, ""
    if a == b:
        return 25, "surname"
    if set(a.split()) & set(b.split()):
        return 20, "surname_part"
    sim = similarity(a, b)
    # One slip in a short name (Smith, Smyth) already halves the shared trigrams.
    return (round(25 * sim), "surname_similar") if sim >= 0.3 else (0, "")


def _given(a: str, b: str, *, same_spelling: bool) -> tuple[int, str]:
    """Up to 20 points for first names (canonical keys)."""
    if not a or not b:
        return 0, ""
    if a == b:
        return 20, "first_name" if same_spelling else "first_name_variant"
    sim = similarity(a, b)
    return (round(20 * sim), "first_name_similar") if sim >= 0.4 else (0, "")


def _first_word(text: str) -> str:
    words = fold(text).split()
    return words[0] if words else ""


def _name_points(query: MatchQuery, child: Child) -> tuple[int, list[str]]:
    """Names as given, or the wrong way round (a surname typed as the first name)."""
    first, last, _name, _postcode = query.keys
    same_spelling = _first_word(query.first_name) == _first_word(child.first_name)
    straight = [
        _surname(last, child.match_last),
        _given(first, child.match_first, same_spelling=same_spelling),
    ]
    swapped = [
        _surname(fold(query.first_name), child.match_last),
        _given(canonical_first(query.last_name), child.match_first, same_spelling=True),
    ]
    straight_points = sum(points for points, _code in straight)
    swapped_points = sum(points for points, _code in swapped)
    if swapped_points > straight_points and swapped_points >= 30:
        return swapped_points - 5, ["names_swapped"]
    return straight_points, [code for _points, code in straight if code]


def score_candidate(query: MatchQuery, child: Child) -> Match:
    """How likely `child` is the child described, with the reasons in plain words."""
    postcode = query.keys[3]
    reasons: list[str] = []
    if query.nhs_number and child.nhs_number:
        if query.nhs_number == child.nhs_number:
            return Match(child, 100, ("nhs_number",))
        reasons.append("nhs_number_differs")
    points = -40 if reasons else 0
    dob, code = _dob_points(query.date_of_birth, child.date_of_birth)
    points += dob
    if code:
        reasons.append(code)
    name, codes = _name_points(query, child)
    points += name
    reasons.extend(codes)
    if postcode and child.match_postcode:
        if postcode == child.match_postcode:
            points += 15
            reasons.append("postcode")
        elif len(postcode) > 3 and postcode[:-3] == child.match_postcode[:-3]:
            points += 5
            reasons.append("postcode_area")
        else:
            reasons.append("postcode_differs")
    return Match(child, max(0, min(99, points)), tuple(reasons))


def _dates(query: MatchQuery) -> list[datetime.date]:
    if query.date_of_birth is None:
        return []
    swapped = _swapped(query.date_of_birth)
    return [query.date_of_birth, *([swapped] if swapped else [])]


def _candidate_ids(children: QuerySet[Child], query: MatchQuery) -> set[int]:
    """Ids of children worth scoring, from indexed branches, each bounded."""
    first, last, name, postcode = query.keys
    branches: list[QuerySet[Child]] = []
    if query.nhs_number:
        branches.append(children.filter(nhs_number=query.nhs_number))
    dates = _dates(query)
    if dates:
        branches.append(children.filter(date_of_birth__in=dates))
    if postcode:
        branches.append(children.filter(match_postcode=postcode))
    if connection.vendor == "postgresql":
        if name:
            branches.append(children.filter(match_name__trigram_similar=name))
    else:
        # The demo's fallback: exact keys only (no trigram index in SQLite).
        if last:
            branches.append(children.filter(Q(match_last=last) | Q(match_first=last)))
        if first and last:
            branches.append(children.filter(match_first=first, match_last__startswith=last[:2]))
    ids: set[int] = set()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Only near names: a looser threshold reads far more of the index. set_config,
                # not SET, which takes no parameters bound on the server.
                cursor.execute(
                    "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                    [str(NAME_SIMILARITY_THRESHOLD)],
                )
        for branch in branches:
            ids.update(branch.order_by().values_list("pk", flat=True)[:BRANCH_LIMIT])
    return ids


def child_matches(
    *,
    children: QuerySet[Child],
    query: MatchQuery,
    limit: int = 20,
    exclude: Iterable[int] = (),
    minimum: int = LIKELY_MATCH,
) -> list[Match]:
    """The children in `children` most likely to be the one described, best first.

    `children` is already what the asker may see (a selector's queryset): matching never
    looks beyond it, so it cannot reveal a child the person may not know about.
    """
    ids = _candidate_ids(children, query) - set(exclude)
    if not ids:
        return []
    candidates = children.filter(pk__in=ids).order_by("pk")
    matches = [score_candidate(query, child) for child in candidates]
    matches = [m for m in matches if m.score >= minimum]
    matches.sort(key=lambda m: (-m.score, m.child.pk))
    return matches[:limit]
