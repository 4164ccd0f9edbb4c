"""Measurements, each run inside Django against one benchmark database; prints one JSON line.

python -m bench.measure queue|api|prepared|sweep|empty-sweep|explain|prepare-http|prepare-mixed
"""

from __future__ import annotations

import datetime
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import django

WARMUP = 5
RUNS = 40


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000, 2),
    }


def _time(call: Callable[[], Any], runs: int = RUNS) -> list[float]:
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def _in_turn(calls: list[Callable[[], Any]], runs: int = RUNS * 2) -> list[list[float]]:
    """Time calls turn about, so a load that comes and goes on the machine weighs on each alike."""
    for _ in range(WARMUP):
        for call in calls:
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for call, kept in zip(calls, samples, strict=True):
            start = time.perf_counter()
            call()
            kept.append(time.perf_counter() - start)
    return samples


def _alternate(
    first: Callable[[], Any], second: Callable[[], Any], runs: int = RUNS * 2
) -> tuple[list[float], list[float]]:
    """Time two calls turn about."""
    one, two = _in_turn([first, second], runs)
    return one, two


def _busiest_front_door() -> tuple[Any, Any]:
    """The front door team with the longest open queue, and one of its social workers."""
    from django.db.models import Count

    from agencies.models import Membership, Role, Team
    from referrals.core import states
    from referrals.models import Referral

    team_id = (
        Referral.objects.filter(status__in=states.OPEN, team__name="Front Door")
        .values("team")
        .annotate(n=Count("id"))
        .order_by("-n")[0]["team"]
    )
    worker = Membership.objects.filter(team_id=team_id, role=Role.SOCIAL_WORKER).first()
    assert worker is not None
    return Team.objects.get(pk=team_id), worker.user


def queue() -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from referrals.casework.queue import QUEUE_PAGE_SIZE, QueueFilters, referral_queue_for_user

    _team, user = _busiest_front_door()
    client = Client()
    client.force_login(user)
    assert client.get("/queue/").status_code == 200
    rows = referral_queue_for_user(user=user, filters=QueueFilters.from_query({})).rows
    with CaptureQueriesContext(connection) as captured:
        client.get("/queue/")
    queries = len(captured)  # now: the log is a window that later requests move on
    samples = _time(lambda: client.get("/queue/"))
    return {
        **_percentiles(samples),
        "queries": queries,
        "rows": len(rows),
        "page_size": QUEUE_PAGE_SIZE,
    }


def _api_client() -> tuple[Any, str]:
    """An agency system for the busiest authority's children's social care, with a token."""
    from oauth2_provider.models import AccessToken, get_application_model

    from referrals.casework.partners import api_client_create

    team, _user = _busiest_front_door()
    application = get_application_model().objects.filter(name="bench system").first()
    if application is None:
        application, _secret = api_client_create(agency=team.agency, name="bench system")
    token = AccessToken.objects.create(
        user=None,
        application=application,
        token=f"bench-{time.time_ns()}",
        expires=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2),
        scope="referrals:read referrals:write",
    )
    return team, token.token


def api() -> dict[str, Any]:
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    team, token = _api_client()
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/referrals/", {"page_size": 100}, headers=headers)
    assert first.status_code == 200, first.content[:500]
    assert len(first.json()["results"]) == 100
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/referrals/", {"page_size": 100}, headers=headers)
    queries = len(captured)
    database = settings.DATABASES["default"]
    dsn = (
        f"host={database['HOST']} port={database['PORT']} user={database['USER']} "
        f"dbname={database['NAME']}"
    )
    sql = """
        SELECT r.id, r.status, r.urgency, r.category, r.factors, r.reason, r.desired_outcome,
               r.consent, r.consent_reason, r.parents_aware, r.cin_referral_source,
               c.id, c.first_name, c.last_name, c.other_names, c.date_of_birth,
               c.expected_date_of_birth, c.sex, c.postcode, c.nhs_number, c.upn,
               c.local_authority_id, c.updated_at,
               a.id, a.name, r.referrer_name, r.referrer_phone, r.referrer_email,
               la.id, la.name, t.id, t.name, r.transferred_from_id, r.submitted_at,
               r.acknowledged_at, r.decided_at, r.acknowledge_due_at, r.decision_due_at,
               r.escalation_level, d.outcome, d.decided_at, d.feedback, d.category, d.factors,
               r.updated_at
        FROM referrals_referral r
        JOIN referrals_child c ON c.id = r.child_id
        JOIN agencies_agency a ON a.id = r.referring_agency_id
        JOIN agencies_localauthority la ON la.id = r.local_authority_id
        LEFT JOIN agencies_team t ON t.id = r.team_id
        LEFT JOIN referrals_decision d ON d.referral_id = r.id
        WHERE r.local_authority_id = %s AND r.status <> 'draft' AND r.updated_at < now()
        ORDER BY r.updated_at, r.id
        LIMIT 100
    """
    with psycopg.connect(dsn) as raw:

        def fetch() -> str:
            rows = raw.execute(sql, [team.agency.local_authority_id]).fetchall()
            return json.dumps({"results": rows}, default=str)

        assert len(json.loads(fetch())["results"]) == 100
        # Alternated, so a load that comes and goes on the machine weighs on both alike.
        api_samples, raw_samples = _alternate(
            lambda: client.get("/api/v1/referrals/", {"page_size": 100}, headers=headers),
            fetch,
        )
    api_p50 = statistics.median(api_samples)
    raw_p50 = statistics.median(raw_samples)
    return {
        "api": _percentiles(api_samples),
        "raw": _percentiles(raw_samples),
        "ratio_p50": round(api_p50 / raw_p50, 2),
        "queries": queries,
    }


# The prepared-statements trial's connections: Django's default, then psycopg binding on the
# server and preparing a statement after 5 runs, then the same planning every run afresh for
# its parameters (prepared statements otherwise get a generic plan after five runs).
PREPARED_VARIANTS: dict[str, dict[str, Any]] = {
    "client_binding": {},
    "server_binding_prepared": {"server_side_binding": True, "prepare_threshold": 5},
    "prepared_custom_plans": {
        "server_side_binding": True,
        "prepare_threshold": 5,
        "options": "-c plan_cache_mode=force_custom_plan",
    },
}


def prepared() -> dict[str, Any]:
    """The prepared-statements trial: the API page and the queue page on one connection per
    variant (PREPARED_VARIANTS) in one process, in turn, each kept (no pool)."""
    from django.db import connections
    from django.db.utils import load_backend
    from django.test import Client

    base = connections.settings["default"]
    options = {
        k: v
        for k, v in base["OPTIONS"].items()
        if k not in ("pool", "server_side_binding", "prepare_threshold")
    }
    variants = {
        name: load_backend(base["ENGINE"]).DatabaseWrapper(
            {**base, "CONN_MAX_AGE": None, "OPTIONS": {**options, **extra}}, "default"
        )
        for name, extra in PREPARED_VARIANTS.items()
    }
    _team, token = _api_client()
    _team, user = _busiest_front_door()
    pages = Client()
    pages.force_login(user)
    api = Client()
    headers = {"Authorization": f"Bearer {token}"}
    calls = {
        "api": lambda: api.get("/api/v1/referrals/", {"page_size": 100}, headers=headers),
        "queue": lambda: pages.get("/queue/"),
    }

    def on(variant: Any, call: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            connections["default"] = variant
            response = call()
            assert response.status_code == 200
            return response

        return run

    result: dict[str, Any] = {}
    for page, call in calls.items():
        samples = _in_turn([on(variant, call) for variant in variants.values()])
        first = statistics.median(samples[0])
        result[page] = {
            name: {**_percentiles(times), "ratio_p50": round(statistics.median(times) / first, 3)}
            for name, times in zip(variants, samples, strict=True)
        }
    with variants["server_binding_prepared"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        result["statements_prepared"] = cursor.fetchone()[0]
    return result


def sweep() -> dict[str, Any]:
    """Make 100,000 referrals overdue (on a throwaway copy), then sweep them all."""
    from django.db import connection

    from referrals.clocks.sweep import referral_escalations_sweep
    from referrals.models import Escalation

    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE referrals_referral SET status = 'submitted', acknowledged_at = NULL,
                   escalation_level = 0, acknowledge_due_at = now() - interval '30 minutes',
                   decision_due_at = now() + interval '1 day',
                   next_escalation_at = now() - interval '30 minutes'
            WHERE id IN (SELECT id FROM referrals_referral WHERE status = 'closed'
                         ORDER BY id LIMIT %s)
            """,
            [count],
        )
        overdue = cursor.rowcount  # fewer than asked when a small dataset has fewer closed
        cursor.execute("ANALYZE referrals_referral")
    start = time.perf_counter()
    made = referral_escalations_sweep()
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM referrals_escalation "
            "GROUP BY referral_id, clock, level HAVING count(*) > 1) d"
        )
        (duplicates,) = cursor.fetchone()
    escalated = Escalation.objects.values("referral_id").distinct().count()
    return {
        "overdue": overdue,
        "escalations": made,
        "referrals_escalated": escalated,
        "duplicates": duplicates,
        "seconds": round(elapsed, 2),
    }


def empty_sweep() -> dict[str, Any]:
    from referrals.clocks.sweep import referral_escalations_sweep

    referral_escalations_sweep()  # anything due since the data was made
    samples = _time(referral_escalations_sweep, runs=100)
    return _percentiles(samples)


def _plan_scans(plan: Any) -> list[tuple[str, str]]:
    nodes = []
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if "Node Type" in node:
            nodes.append((node["Node Type"], node.get("Relation Name", "")))
        stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return nodes


def _captured(call: Callable[[], Any]) -> list[str]:
    """The SELECTs on the referral table that `call` runs, as executed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and 'FROM "referrals_referral"' in q["sql"]
    ]


def explain() -> dict[str, Any]:
    """EXPLAIN exactly what the queue page, the API page and a sweep run against referrals."""
    from django.db import connection
    from django.test import Client

    from referrals.clocks.sweep import referral_escalations_sweep

    _team, user = _busiest_front_door()
    pages = Client()
    pages.force_login(user)
    _team, token = _api_client()
    api = Client()
    headers = {"Authorization": f"Bearer {token}"}
    work: dict[str, Callable[[], Any]] = {
        "queue": lambda: pages.get("/queue/"),
        "api": lambda: api.get("/api/v1/referrals/", {"page_size": 100}, headers=headers),
        "sweep": referral_escalations_sweep,
    }
    result: dict[str, Any] = {}
    for name, call in work.items():
        seq_scans = 0
        nodes: set[str] = set()
        statements = _captured(call)
        for sql in statements:
            with connection.cursor() as cursor:
                # EXPLAIN takes no row locks; the plan is the same without them.
                cursor.execute("EXPLAIN (FORMAT JSON) " + re.sub(r"\s+FOR UPDATE.*$", "", sql))
                plan = cursor.fetchone()[0]
            for kind, relation in _plan_scans(plan):
                nodes.add(f"{kind} {relation}".strip())
                seq_scans += kind == "Seq Scan" and relation == "referrals_referral"
        result[name] = {
            "statements": len(statements),
            "seq_scans_of_referrals": seq_scans,
            "nodes": sorted(nodes),
        }
    return result


def prepare_http() -> dict[str, Any]:
    """A token for the HTTP load test's client (written on the throwaway copy)."""
    _team, token = _api_client()
    return {"token": token}


def _signed_in(user: Any) -> str:
    """A session as after signing in with a password and an authenticator code (as the tests'
    `signed_in` makes one): its cookie's value."""
    from django.conf import settings
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    client = Client()
    client.force_login(user)  # records the UserSession, as signing in does
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    # Run with REQUIRE_MFA on: a session without its second factor would be sent to it.
    assert client.get("/queue/").status_code == 200
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def prepare_mixed() -> dict[str, Any]:
    """Signed-in sessions for the front-door social workers of the busiest authorities (five a
    team), each with the referrals in its team's queue, and a token for API submissions."""
    from django.conf import settings
    from django.db.models import Count
    from django.urls import reverse

    from agencies.models import Membership, Role
    from referrals.core import states
    from referrals.models import Referral

    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    per_team = 5
    teams = [
        row["team"]
        for row in Referral.objects.filter(status__in=states.OPEN, team__name="Front Door")
        .values("team")
        .annotate(n=Count("id"))
        .order_by("-n")[: -(-clients // per_team)]
    ]
    sessions = []
    for team in teams:
        referrals = [
            reverse("referral-detail", args=[pk])
            for pk in Referral.objects.filter(team_id=team, status__in=states.IN_QUEUE)
            .order_by("-id")
            .values_list("id", flat=True)[:200]
        ]
        members = Membership.objects.filter(team_id=team, role=Role.SOCIAL_WORKER).order_by("id")
        for membership in members[:per_team]:
            sessions.append({"cookie": _signed_in(membership.user), "referrals": referrals})
    _team, token = _api_client()
    return {
        "sessions": sessions[:clients],
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "queue": reverse("referral-queue"),
        "token": token,
    }


COMMANDS: dict[str, Callable[[], dict[str, Any]]] = {
    "queue": queue,
    "api": api,
    "sweep": sweep,
    "empty-sweep": empty_sweep,
    "explain": explain,
    "prepared": prepared,
    "prepare-http": prepare_http,
    "prepare-mixed": prepare_mixed,
}


def main() -> None:
    django.setup()
    from django.core.signals import request_started
    from django.db import reset_queries

    # Django empties the query log as each request starts; the counts here span requests.
    request_started.disconnect(reset_queries)
    print(json.dumps(COMMANDS[sys.argv[1]]()))


if __name__ == "__main__":
    main()
