"""The HTTP figures against gunicorn: API submissions alone, and the mixed load of signed-in
social workers reading their queue and referrals while agency systems submit."""

from __future__ import annotations

import itertools
import json
import os
import random
from typing import Any

import psycopg

from bench import load, server
from bench.run import env, measure

# Seconds of load before the figures start: each gunicorn worker's first requests import and
# build what it then keeps (the API's schema, templates), which is not what a load measures.
WARMUP = float(os.environ.get("BENCH_WARMUP_SECONDS", "5"))

# The body an agency system posts (a new child each time, so no identity match to a known one).
_SUBMISSION = {
    "urgency": "standard",
    "reason": "Load test.",
    "desired_outcome": "Assessment.",
    "consent": "given",
    "parents_aware": "yes",
    "referrer_name": "Bench",
    "referrer_phone": "01632 960000",
    "referrer_email": "bench@bench.invalid",
}


def submission(token: str) -> load.MakeRequest:
    """API submissions by one agency system, each about a child of a new name."""
    numbers = itertools.count(1)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def make(client: int, rng: random.Random) -> bytes:
        child = {"first_name": "Load", "last_name": f"Test{next(numbers)}"}
        body = {"child": child | {"date_of_birth": "2015-01-01"}, **_SUBMISSION}
        return load.request_bytes(
            "POST", "/api/v1/referrals/", headers=headers, body=json.dumps(body).encode()
        )

    return make


def _count_referrals(database: str) -> int:
    with psycopg.connect(server.url(database)) as conn:
        row = conn.execute("SELECT count(*) FROM referrals_referral").fetchone()
        return int(row[0]) if row else 0


def submissions(database: str, seconds: int, clients: int = 50) -> dict[str, Any]:
    """`clients` agency-system clients submitting referrals over the API for `seconds`."""
    token = measure("bench.measure", "prepare-http", database=database)["token"]
    before = _count_referrals(database)
    kinds = [load.Kind("submission", 1, submission(token), expect=201)]
    with server.gunicorn(env(database)) as port:
        result = load.run(port=port, kinds=kinds, clients=clients, seconds=seconds, warmup=WARMUP)
    return {**result, "referrals_made": _count_referrals(database) - before}


def mixed(database: str, seconds: int, clients: int = 50) -> dict[str, Any]:
    """70% queue pages and 20% referral pages, each by a signed-in social worker's session
    (its cookie; the second factor passed), and 10% API submissions."""
    # Production's rule: a session must have passed its second factor.
    signed_in = {"REQUIRE_MFA": "1"}
    ready = measure("bench.measure", "prepare-mixed", str(clients), database=database, **signed_in)
    sessions = ready["sessions"]

    def cookie(client: int) -> dict[str, str]:
        return {"Cookie": f"{ready['cookie_name']}={sessions[client % len(sessions)]['cookie']}"}

    def queue(client: int, rng: random.Random) -> bytes:
        return load.request_bytes("GET", ready["queue"], headers=cookie(client))

    def referral(client: int, rng: random.Random) -> bytes:
        path = rng.choice(sessions[client % len(sessions)]["referrals"])
        return load.request_bytes("GET", path, headers=cookie(client))

    kinds = [
        load.Kind("queue", 70, queue),
        load.Kind("referral", 20, referral),
        load.Kind("submission", 10, submission(ready["token"]), expect=201),
    ]
    with server.gunicorn(env(database, **signed_in)) as port:
        result = load.run(port=port, kinds=kinds, clients=clients, seconds=seconds, warmup=WARMUP)
    return {**result, "sessions": len(sessions)}
