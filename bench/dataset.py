"""A national-scale dataset, made quickly with COPY (inside Django, on PostgreSQL).

150 local authorities, 25,000 agencies, 60,000 users and N referrals over five years, with a
realistic mix of states and urgencies and 1% shared with a partner agency. The data is made
once per database and kept: a `bench_dataset` marker row says what is there.

Run it with `python -m bench.generate --referrals 1000000`.
"""

from __future__ import annotations

import datetime
import itertools
import random
import time
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, models
from psycopg.types.json import Jsonb

from agencies.models import (
    Agency,
    AgencyKind,
    LocalAuthority,
    Membership,
    Nation,
    Role,
    RoutingRule,
    Team,
    TeamKind,
    User,
)
from referrals.models import Child, Decision, Referral, ReferralGroupObjectPermission, Share

AUTHORITIES = 150
AGENCIES = 25_000
USERS = 60_000
YEARS = 5
SHARED = 0.01
# Referrals received in the last few days are still open: a working front door's queue.
OPEN_DAYS = 3
# England's ~600,000 referrals a year are ~5,000 in three days. The same open set in every
# dataset, whatever its size: only the history grows, so the queue compares like with like.
OPEN_REFERRALS = 5_000
# Authorities differ in size (Rutland to Birmingham): the n-th gets a share like 1/sqrt(n),
# so the busiest front door has a couple of hundred referrals open.
AUTHORITY_CUM_WEIGHTS = list(itertools.accumulate(1 / n**0.5 for n in range(1, AUTHORITIES + 1)))
SEED = 20261123
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)
MARKER = "bench_dataset"

rng = random.Random(SEED)


def _value(field: models.Field[Any, Any], value: Any) -> Any:
    if isinstance(field, models.JSONField) and value is not None:
        return Jsonb(value)
    return value


def copy_rows(model: type[models.Model], rows: Iterable[dict[str, Any]]) -> int:
    """COPY rows (dicts by attname) into the model's table; unspecified fields get defaults."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    # Rows without ids take them from the table's sequence.
    fields = [
        f
        for f in model._meta.concrete_fields
        if not f.generated and (f.attname in first or not isinstance(f, models.AutoField))
    ]
    # Django's own defaults: "" for a blank text field, None for a nullable one.
    defaults = {f.attname: f.get_default() for f in fields if not isinstance(f, models.AutoField)}
    columns = ", ".join(f'"{f.column}"' for f in fields)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        with raw.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
            for row in itertools.chain([first], rows):
                copy.write_row(
                    [
                        _value(f, row[f.attname] if f.attname in row else defaults.get(f.attname))
                        for f in fields
                    ]
                )
                count += 1
        raw.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{model._meta.db_table}\"', 'id'), "
            f'coalesce(max(id), 1)) FROM "{model._meta.db_table}"'
        )
    return count


def _authorities() -> Iterator[dict[str, Any]]:
    nations = (
        [Nation.ENGLAND] * 120
        + [Nation.WALES] * 12
        + [Nation.SCOTLAND] * 14
        + [Nation.NORTHERN_IRELAND] * 4
    )
    for i in range(1, AUTHORITIES + 1):
        yield {
            "id": i,
            "name": f"Authority {i:03d}",
            "ons_code": f"E0{i:07d}",
            "nation": nations[i - 1],
            "front_door_phone": "01632 960000",
            "working_weekdays": [0, 1, 2, 3, 4],
            "opens_at": datetime.time(9),
            "closes_at": datetime.time(17),
            "created_at": NOW,
            "updated_at": NOW,
        }


# Per authority: one children's social care, a police force, health, early help; the rest
# schools (about 166 agencies an authority).
def _agency_kinds(n: int) -> list[str]:
    kinds: list[str] = [AgencyKind.CHILDRENS_SOCIAL_CARE, AgencyKind.POLICE, AgencyKind.EARLY_HELP]
    kinds += [AgencyKind.HEALTH] * 4 + [AgencyKind.HOUSING]
    return kinds + [AgencyKind.SCHOOL] * (n - len(kinds))


def generate(referrals: int) -> dict[str, int]:
    """Make the dataset; returns the row counts."""
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    counts: dict[str, int] = {}
    counts["authorities"] = copy_rows(LocalAuthority, _authorities())

    per_authority = AGENCIES // AUTHORITIES
    agencies: list[dict[str, Any]] = []
    for authority in range(1, AUTHORITIES + 1):
        for kind in _agency_kinds(
            per_authority + (1 if authority <= AGENCIES % AUTHORITIES else 0)
        ):
            agencies.append(
                {
                    "id": len(agencies) + 1,
                    "name": f"{kind.title()} {len(agencies) + 1}",
                    "kind": kind,
                    "local_authority_id": authority,
                    "is_active": True,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
    by_authority: dict[int, dict[str, list[int]]] = {}
    for agency in agencies:
        by_authority.setdefault(agency["local_authority_id"], {}).setdefault(
            agency["kind"], []
        ).append(agency["id"])
    # Groups for the agencies shares go to (police and health), for guardian's grants.
    partner_ids = [a["id"] for a in agencies if a["kind"] in (AgencyKind.POLICE, AgencyKind.HEALTH)]
    Group.objects.bulk_create([Group(name=f"agency:{pk}") for pk in partner_ids], batch_size=5000)
    group_of = dict(Group.objects.filter(name__startswith="agency:").values_list("name", "id"))
    for agency in agencies:
        agency["group_id"] = group_of.get(f"agency:{agency['id']}")
    counts["agencies"] = copy_rows(Agency, agencies)

    teams: list[dict[str, Any]] = []
    for authority in range(1, AUTHORITIES + 1):
        csc = by_authority[authority][AgencyKind.CHILDRENS_SOCIAL_CARE][0]
        teams.append(
            {"id": len(teams) + 1, "agency_id": csc, "name": "Front Door", "kind": TeamKind.TRIAGE}
        )
        teams.append(
            {
                "id": len(teams) + 1,
                "agency_id": csc,
                "name": "Emergency Duty Team",
                "kind": TeamKind.EMERGENCY_DUTY,
            }
        )
    counts["teams"] = copy_rows(Team, teams)
    front_door = {a: 2 * a - 1 for a in range(1, AUTHORITIES + 1)}
    edt = {a: 2 * a for a in range(1, AUTHORITIES + 1)}
    counts["routing_rules"] = copy_rows(
        RoutingRule,
        (
            row
            for a in range(1, AUTHORITIES + 1)
            for row in (
                {
                    "local_authority_id": a,
                    "position": 10,
                    "team_id": edt[a],
                    "urgency": "immediate",
                    "out_of_hours": "out_of_hours",
                    "is_active": True,
                    "category": "",
                },
                {
                    "local_authority_id": a,
                    "position": 100,
                    "team_id": front_door[a],
                    "urgency": "",
                    "out_of_hours": "any",
                    "is_active": True,
                    "category": "",
                },
            )
        ),
    )

    # People: a DSL (or lead) per agency, and the rest of the 60,000 spread as staff and as
    # each authority's front door (30 social workers, 3 team managers, a service manager).
    password = make_password("bench-password-not-secret")
    users: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []

    def person(agency_id: int, role: str, team_id: int | None = None) -> int:
        pk = len(users) + 1
        users.append(
            {
                "id": pk,
                "password": password,
                "email": f"user{pk}@bench.invalid",
                "first_name": "Bench",
                "last_name": f"User{pk}",
                "is_active": True,
                "is_staff": False,
                "is_superuser": False,
                "date_joined": NOW,
                "phone": "",
                "is_agency_system": False,
            }
        )
        memberships.append(
            {
                "user_id": pk,
                "agency_id": agency_id,
                "team_id": team_id,
                "role": role,
                "created_at": NOW,
            }
        )
        return pk

    social_workers: dict[int, list[int]] = {}
    for a in range(1, AUTHORITIES + 1):
        csc = by_authority[a][AgencyKind.CHILDRENS_SOCIAL_CARE][0]
        social_workers[a] = [person(csc, Role.SOCIAL_WORKER, front_door[a]) for _ in range(30)]
        for _ in range(3):
            person(csc, Role.TEAM_MANAGER, front_door[a])
        person(csc, Role.SOCIAL_WORKER, edt[a])
        person(csc, Role.SERVICE_MANAGER)
    leads = {agency["id"]: person(agency["id"], Role.DSL) for agency in agencies}
    while len(users) < USERS:
        person(rng.choice(agencies)["id"], Role.STAFF)
    counts["users"] = copy_rows(User, users)
    counts["memberships"] = copy_rows(Membership, memberships)

    # Children: most referred once, some again.
    children_count = int(referrals * 0.75)
    referring: dict[int, list[dict[str, Any]]] = {}
    for agency in agencies:
        if agency["kind"] != AgencyKind.CHILDRENS_SOCIAL_CARE:
            referring.setdefault(agency["local_authority_id"], []).append(agency)
    authority_ids = list(range(1, AUTHORITIES + 1))
    children: list[tuple[int, int]] = []  # (authority, agency) per child

    def child_rows() -> Iterator[dict[str, Any]]:
        for pk in range(1, children_count + 1):
            authority = rng.choices(authority_ids, cum_weights=AUTHORITY_CUM_WEIGHTS)[0]
            agency = rng.choice(referring[authority])
            children.append((agency["local_authority_id"], agency["id"]))
            yield {
                "id": pk,
                "first_name": f"First{pk % 5000}",
                "last_name": f"Last{pk % 20000}",
                "other_names": "",
                "date_of_birth": datetime.date(2008, 1, 1) + datetime.timedelta(days=pk % 6000),
                "expected_date_of_birth": None,
                "sex": "unknown",
                "address": "",
                "postcode": f"AB{pk % 99} {pk % 9}CD",
                "nhs_number": "",
                "upn": "",
                "local_authority_id": agency["local_authority_id"],
                "created_by_agency_id": agency["id"],
                "created_at": NOW,
                "updated_at": NOW,
            }

    counts["children"] = copy_rows(Child, child_rows())

    span = datetime.timedelta(days=365 * YEARS)
    # Small tuples, not dicts: a million referrals leave nearly as many decisions.
    decisions: list[tuple[int, int, datetime.datetime | None]] = []
    shares: list[tuple[int, int]] = []

    def referral_rows() -> Iterator[dict[str, Any]]:
        for pk in range(1, referrals + 1):
            child = rng.randrange(children_count) + 1
            authority, agency_id = children[child - 1]
            # The newest referrals, still open, are the front door's queue today.
            if pk > referrals - min(OPEN_REFERRALS, referrals // 2):
                received = NOW - datetime.timedelta(seconds=rng.uniform(0, OPEN_DAYS * 86400))
            else:
                received = (
                    NOW
                    - span
                    + datetime.timedelta(
                        seconds=rng.uniform(
                            0, (span - datetime.timedelta(days=OPEN_DAYS)).total_seconds()
                        )
                    )
                )
            urgency = rng.choices(["immediate", "urgent", "standard"], [5, 25, 70])[0]
            due = received + (
                datetime.timedelta(hours=1)
                if urgency == "immediate"
                else datetime.timedelta(days=1)
            )
            decision_due = received + datetime.timedelta(days=1)
            open_ = received > NOW - datetime.timedelta(days=OPEN_DAYS)
            if open_:
                status = rng.choices(
                    ["submitted", "acknowledged", "information_requested", "information_received"],
                    [40, 40, 10, 10],
                )[0]
            else:
                status = rng.choices(
                    ["closed", "decided", "withdrawn", "transferred"], [84, 12, 3, 1]
                )[0]
            team = (
                edt[authority]
                if urgency == "immediate" and rng.random() < 0.3
                else front_door[authority]
            )
            acknowledged = status not in ("submitted", "withdrawn")
            decided = status in ("closed", "decided")
            acknowledged_at = (
                received + datetime.timedelta(hours=rng.uniform(0.1, 20)) if acknowledged else None
            )
            decided_at = (
                received + datetime.timedelta(hours=rng.uniform(2, 30)) if decided else None
            )
            if decided:
                decisions.append((pk, rng.choice(social_workers[authority]), decided_at))
            if not open_ and rng.random() < SHARED:
                partner_kinds = by_authority[authority]
                partner = rng.choice(
                    partner_kinds[AgencyKind.POLICE] + partner_kinds[AgencyKind.HEALTH]
                )
                shares.append((pk, partner))
            changed = max(t for t in (received, acknowledged_at, decided_at) if t is not None)
            yield {
                "id": pk,
                "child_id": child,
                "referring_agency_id": agency_id,
                "referrer_id": leads[agency_id],
                "referrer_name": "Bench Referrer",
                "referrer_phone": "01632 960000",
                "referrer_email": "referrer@bench.invalid",
                "cin_referral_source": "2A",
                "local_authority_id": authority,
                "team_id": team,
                "owner_id": rng.choice(social_workers[authority]) if acknowledged else None,
                "transferred_from_id": None,
                "urgency": urgency,
                "category": rng.choice(["", "neglect", "physical", "emotional", "sexual"]),
                "factors": [],
                "reason": "Benchmark referral.",
                "desired_outcome": "",
                "consent": "given",
                "consent_reason": "",
                "parents_aware": "unknown",
                "status": status,
                "submitted_at": received,
                "acknowledged_at": acknowledged_at,
                "decided_at": decided_at,
                "closed_at": decided_at if status == "closed" else None,
                "withdrawn_at": received + datetime.timedelta(hours=1)
                if status == "withdrawn"
                else None,
                "withdrawal_reason": "Benchmark." if status == "withdrawn" else "",
                "acknowledge_due_at": due,
                "decision_due_at": max(decision_due, due),
                "escalation_level": 0,
                "next_escalation_at": (
                    # Open referrals' clocks are pushed past the benchmark's run: due but not
                    # yet swept would make the "empty sweep" not empty.
                    NOW + datetime.timedelta(days=3650) if open_ else None
                ),
                "created_at": received,
                "updated_at": changed,
            }

    counts["referrals"] = copy_rows(Referral, referral_rows())
    outcomes = ["nfa", "universal", "early_help", "s17", "s47"]
    counts["decisions"] = copy_rows(
        Decision,
        (
            {
                "referral_id": pk,
                "outcome": outcomes[pk % 5],
                "rationale": "Benchmark.",
                "feedback": "Benchmark feedback.",
                "category": "",
                "factors": [],
                "decided_by_id": by,
                "decided_at": at,
            }
            for pk, by, at in decisions
        ),
    )
    view = Permission.objects.get(content_type__app_label="referrals", codename="view_referral")
    granter = social_workers[1][0]
    counts["shares"] = copy_rows(
        Share,
        (
            {
                "referral_id": r,
                "agency_id": a,
                "reason": "Strategy discussion.",
                "expires_at": NOW + datetime.timedelta(days=3650),
                "granted_by_id": granter,
                "created_at": NOW,
                "revoked_at": None,
                "revoked_by_id": None,
                "received_at": None,
            }
            for r, a in shares
        ),
    )
    copy_rows(
        ReferralGroupObjectPermission,
        (
            {"permission_id": view.pk, "group_id": group_of[f"agency:{a}"], "content_object_id": r}
            for r, a in shares
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def dataset_marker() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (spec text)")
        cursor.execute(f"SELECT spec FROM {MARKER}")
        row = cursor.fetchone()
    return row[0] if row else None
