"""`make bench`: generate (or reuse) the datasets, measure, print a table, write results.json.

The table shows each figure next to the one in the previous results.json.

Environment: BENCH_REFERRALS (default 1,000,000), BENCH_HTTP_SECONDS (60, API submissions),
BENCH_MIXED_SECONDS (60, the mixed load), BENCH_CLIENTS (50), BENCH_AUDIT_ROWS (10,000,000),
BENCH_PG_PORT, BENCH_REDIS_PORT, BENCH_HTTP_PORT, BENCH_GUNICORN_WORKERS / _THREADS.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

import psycopg

from bench import growth, http, report, server
from bench.run import REDIS_PORT, ROOT, env, measure, migrate

RESULTS = ROOT / "bench" / "results.json"
SMALL, LARGE, WORK = "bench_10k", "bench_large", "bench_work"


def _marker(database: str) -> str | None:
    if not server.database_exists(database):
        return None
    with psycopg.connect(server.url(database), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('bench_dataset')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT spec FROM bench_dataset").fetchone()
        return row[0] if row else None


def ensure_dataset(database: str, referrals: int) -> str:
    spec = f"referrals={referrals} seed=20261123 v2"
    if _marker(database) == spec:
        return "cached"
    server.create_database(database)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--referrals", str(referrals)],
        env=env(database),
        cwd=ROOT,
        check=True,
    )
    return f"made in {time.monotonic() - started:.0f} s"


def start_redis() -> subprocess.Popen[bytes]:
    """A throwaway Redis (no persistence) for the broker."""
    redis = subprocess.Popen(
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return redis
        except OSError:
            time.sleep(0.1)
    redis.kill()
    raise SystemExit("redis-server did not start for the benchmarks")


PARTS = ("pages", "sweep", "http", "mixed", "audit")


def _parts() -> tuple[str, ...]:
    """BENCH_PARTS (comma-separated, of PARTS) runs only some; by default all of them."""
    chosen = tuple(p for p in os.environ.get("BENCH_PARTS", "").split(",") if p.strip())
    unknown = set(chosen) - set(PARTS)
    if unknown:
        raise SystemExit(f"BENCH_PARTS: no such part {sorted(unknown)}; the parts are {PARTS}")
    return chosen or PARTS


def measure_all(results: dict[str, Any], parts: tuple[str, ...]) -> None:
    """Every measurement of the chosen parts, each into `results` as it is done."""
    clients = int(os.environ.get("BENCH_CLIENTS", "50"))
    if "pages" in parts or "sweep" in parts:
        server.copy_database(LARGE, WORK)
    if "pages" in parts:
        results["queue_10k"] = measure("bench.measure", "queue", database=SMALL)
        results["queue_large"] = measure("bench.measure", "queue", database=WORK)
        results["queue_ratio_p50"] = round(
            results["queue_large"]["p50_ms"] / results["queue_10k"]["p50_ms"], 2
        )
        results["api"] = measure("bench.measure", "api", database=WORK)
        results["explain"] = measure("bench.measure", "explain", database=WORK)
        results["prepared"] = measure("bench.measure", "prepared", database=WORK)
    if "sweep" in parts:
        results["empty_sweep"] = measure("bench.measure", "empty-sweep", database=WORK)
        results["sweep_100k"] = measure("bench.measure", "sweep", "100000", database=WORK)
    if "http" in parts or "mixed" in parts:
        # The loads start from the dataset as made (the sweep left 100,000 referrals open).
        server.copy_database(LARGE, WORK)
    if "http" in parts:
        seconds = int(os.environ.get("BENCH_HTTP_SECONDS", "60"))
        results["http"] = http.submissions(WORK, seconds, clients)
    if "mixed" in parts:
        seconds = int(os.environ.get("BENCH_MIXED_SECONDS", "60"))
        results["mixed"] = http.mixed(WORK, seconds, clients)
    if "audit" in parts:
        results["audit"] = growth.audit_growth(SMALL)


def main() -> None:
    started = time.monotonic()
    large = int(os.environ.get("BENCH_REFERRALS", "1000000"))
    parts = _parts()
    # A partial run is compared with the last full one and does not replace it.
    written = RESULTS if parts == PARTS else RESULTS.with_name("results-partial.json")
    before = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
    server.start()
    redis = start_redis()
    try:
        results: dict[str, Any] = {
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "system": platform.platform(),
            },
            "datasets": {
                "10k": ensure_dataset(SMALL, 10_000),
                "large": ensure_dataset(LARGE, large),
            },
            "referrals": large,
            "parts": list(parts),
        }
        print("Datasets:", results["datasets"], flush=True)
        # Production settings serve hashed static files: collect them once, as a deploy does.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            env=env(SMALL),
            cwd=ROOT,
            check=True,
        )
        migrate(SMALL)
        migrate(LARGE)
        measure_all(results, parts)
        results["total_seconds"] = round(time.monotonic() - started)
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        server.stop()
    written.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.table(results, before, partial=parts != PARTS))
    print(
        f"\nResults in {written.relative_to(ROOT)} (before: the last full run's "
        f"{RESULTS.relative_to(ROOT)}); {results['total_seconds']} s in all."
    )


if __name__ == "__main__":
    main()
