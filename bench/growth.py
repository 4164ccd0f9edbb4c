"""Audit growth: the databases it needs (bench.audit measures inside each).

Three copies of the 10k-referral dataset: one whose audit table is emptied (appending to an
empty trail), one with a tenth of the events and one with all of them (BENCH_AUDIT_ROWS,
10,000,000 by default). The last is made from the tenth, and both are kept between runs.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg

from bench import server
from bench.run import measure, migrate

EMPTY, TENTH, FULL = "bench_audit_empty", "bench_audit_tenth", "bench_audit"


def _ensure(database: str, source: str, planned: int, upto: int) -> str:
    if server.database_exists(database):
        migrate(database)
        found = measure("bench.audit", "status", str(planned), database=database)
        if found["same_plan"] and found["events"] >= upto:
            return "cached"
        if not found["same_plan"]:
            server.copy_database(source, database)
    else:
        server.copy_database(source, database)
    made = measure("bench.audit", "generate", str(planned), str(upto), database=database)
    return str(made["made"])


def audit_growth(base: str) -> dict[str, Any]:
    """Append latency empty and full, who has seen this and audit_verify at a tenth and full."""
    rows = int(os.environ.get("BENCH_AUDIT_ROWS", "10000000"))
    tenth = max(rows // 10, 1)
    datasets = {
        "tenth": _ensure(TENTH, base, rows, tenth),
        "full": _ensure(FULL, TENTH, rows, rows),
    }
    print("Audit datasets:", datasets, flush=True)
    server.copy_database(base, EMPTY)
    with psycopg.connect(server.url(EMPTY), autocommit=True) as conn:
        conn.execute("TRUNCATE referrals_auditevent RESTART IDENTITY")
    verify_tenth = measure("bench.audit", "verify", database=TENTH)
    verify_full = measure("bench.audit", "verify", database=FULL)
    append = measure("bench.audit", "append", EMPTY, database=FULL)
    return {
        "rows": rows,
        "datasets": datasets,
        "append_empty": append["empty"],
        "append_full": append["full"],
        "append_ratio_p50": append["ratio_p50"],
        "readers": measure("bench.audit", "readers", database=FULL),
        "verify_tenth": verify_tenth,
        "verify_full": verify_full,
    }
