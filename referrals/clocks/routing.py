"""Routing: which of the receiving authority's teams takes a referral, by its rules.

A submission reads the authority once with what it needs (`authority_query`): on PostgreSQL its
active routing rules with their teams, its closure days and whatever else the caller names
(the pattern rules), each as a JSON list in the same row. Elsewhere (the SQLite demo) each is
read when first asked, as before.
"""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection, models
from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, JSONObject

from agencies.models import ClosureDay, LocalAuthority, RoutingRule, Team
from referrals.clocks.calendar import CLOSURE_DATES, WorkingCalendar
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import Child, Referral

ModelT = TypeVar("ModelT", bound=models.Model)

# Where the rows read with the authority are kept on its instance.
ROUTING_RULES = "routing_rules_read"
_RULE_FIELDS = [f.attname for f in RoutingRule._meta.concrete_fields]
_TEAM_FIELDS = [f.attname for f in Team._meta.concrete_fields]


def read_with_authority(queryset: QuerySet[Any], fields: list[str]) -> Coalesce:
    """The outer authority's rows of `queryset` as one JSON list of objects (PostgreSQL)."""
    rows = (
        queryset.filter(local_authority=OuterRef("pk"))
        .order_by()
        .values("local_authority")
        .annotate(rows=JSONBAgg(JSONObject(**{name: F(name) for name in fields})))
        .values("rows")
    )
    return Coalesce(Subquery(rows), Value([], output_field=models.JSONField()))


def instances_from(model: type[ModelT], rows: list[dict[str, Any]]) -> list[ModelT]:
    """Model instances from rows read as JSON: fields whose values JSON keeps as they are."""
    # In the model's field order, which from_db expects (JSON keeps its own key order).
    names = [f.attname for f in model._meta.concrete_fields if rows and f.attname in rows[0]]
    return [model.from_db(connection.alias, names, [row[n] for n in names]) for row in rows]


def authority_query(**reads: Any) -> QuerySet[LocalAuthority]:
    """Authorities with their active routing rules (and teams), closure days and `reads`, each
    as a JSON list in the same row (PostgreSQL; elsewhere each is read when first asked). Build
    it once and keep it: building it costs more CPU than PostgreSQL takes to run it."""
    queryset = LocalAuthority.objects.all()
    if connection.vendor != "postgresql":
        return queryset
    team = {f"team__{name}" for name in _TEAM_FIELDS}
    return queryset.annotate(
        **{
            ROUTING_RULES: read_with_authority(
                RoutingRule.objects.filter(is_active=True), [*_RULE_FIELDS, *sorted(team)]
            ),
            CLOSURE_DATES: read_with_authority(ClosureDay.objects.all(), ["date"]),
        },
        **reads,
    )


def _routing_rules(authority: LocalAuthority) -> list[RoutingRule]:
    """The authority's active rules with their teams, in order: as read with it, or now."""
    rows: list[dict[str, Any]] | None = getattr(authority, ROUTING_RULES, None)
    if rows is None:
        active = RoutingRule.objects.filter(local_authority=authority, is_active=True)
        return list(active.select_related("team").order_by("position", "id"))
    rules = instances_from(RoutingRule, [{n: row[n] for n in _RULE_FIELDS} for row in rows])
    teams = {
        team.pk: team
        for team in instances_from(
            Team, [{n: row[f"team__{n}"] for n in _TEAM_FIELDS} for row in rows]
        )
    }
    for rule in rules:
        rule.team = teams[rule.team_id]
    return sorted(rules, key=lambda rule: (rule.position, rule.pk))


def _child_age(child: Child, on: datetime.date) -> int | None:
    if child.date_of_birth is None:
        return None if child.expected_date_of_birth is None else 0
    born = child.date_of_birth
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _matches(rule: RoutingRule, referral: Referral, *, in_hours: bool, age: int | None) -> bool:
    hours = RoutingRule.OutOfHours.IN_HOURS if in_hours else RoutingRule.OutOfHours.OUT_OF_HOURS
    return (
        rule.urgency in ("", referral.urgency)
        and rule.category in ("", referral.category)
        and rule.out_of_hours in (RoutingRule.OutOfHours.ANY, hours)
        and (age is None or rule.min_age is None or age >= rule.min_age)
        and (age is None or rule.max_age is None or age <= rule.max_age)
    )


def referral_route(
    *, referral: Referral, at: datetime.datetime, calendar: WorkingCalendar | None = None
) -> Team:
    """The receiving team: the first of the authority's routing rules that matches."""
    authority = referral.local_authority
    in_hours = (calendar or WorkingCalendar(authority)).is_working_time(at)
    age = _child_age(referral.child, at.date())
    for rule in _routing_rules(authority):
        if _matches(rule, referral, in_hours=in_hours, age=age):
            return rule.team
    raise ApplicationError(errors.REFERRAL_NO_ROUTE, code="no_route")
