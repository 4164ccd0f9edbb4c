"""`make bench`: generate (or reuse) the datasets, measure, print a table, write results.json.

Environment: BENCH_REFERRALS (default 1,000,000), BENCH_HTTP_SECONDS (60), BENCH_PG_PORT,
BENCH_REDIS_PORT.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from bench import server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
SMALL, LARGE, WORK = "bench_10k", "bench_large", "bench_work"
HTTP_PORT = 8765
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "56379"))


def _env(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DATABASE_URL": server.url(database),
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "DEMO_MODE": "0",
        "REQUIRE_MFA": "0",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        # A real broker, as in production: services publish the relay task on commit. No
        # worker consumes it here; the outbox rows are the truth.
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "API_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "ERROR",
        "DATABASE_POOL_MAX": "20",
        # Plain HTTP on loopback: no TLS to redirect to.
        "SECURE_SSL_REDIRECT": "0",
    }


def _run(module: str, *args: str, database: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=_env(database),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{module} {' '.join(args)} failed")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"output": done.stdout.strip()}


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
        env=_env(database),
        cwd=ROOT,
        check=True,
    )
    return f"made in {time.monotonic() - started:.0f} s"


def http_load(seconds: int) -> dict[str, Any]:
    """50 concurrent clients submitting referrals against gunicorn for `seconds`."""
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    token = _run("bench.measure", "prepare-http", database=WORK)["token"]
    before = _count_referrals(WORK)
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "safeguarding.wsgi",
            "--bind",
            f"127.0.0.1:{HTTP_PORT}",
            "--workers",
            "4",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=_env(WORK),
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        _wait_for_http()
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c50",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(ROOT / "bench" / "post.lua"),
                f"http://127.0.0.1:{HTTP_PORT}",
            ],
            env={**os.environ, "BENCH_TOKEN": token},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
    figures = json.loads(done.stdout.split("BENCH ", 1)[1].splitlines()[0])
    made = _count_referrals(WORK) - before
    return {
        "clients": 50,
        "seconds": seconds,
        "requests": figures["requests"],
        "per_second": round(figures["requests"] / (figures["duration_us"] / 1e6), 1),
        "p50_ms": round(figures["p50_us"] / 1000, 1),
        "p95_ms": round(figures["p95_us"] / 1000, 1),
        "errors": figures["non_2xx"] + figures["socket_errors"],
        "referrals_made": made,
    }


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


def migrate(database: str) -> None:
    """Bring a cached dataset's schema up to the code's migrations."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        env=_env(database),
        cwd=ROOT,
        check=True,
    )


def _count_referrals(database: str) -> int:
    with psycopg.connect(server.url(database)) as conn:
        row = conn.execute("SELECT count(*) FROM referrals_referral").fetchone()
        return int(row[0]) if row else 0


def _wait_for_http() -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            # The sign-in page: /healthz would wait on the broker, which the bench has not.
            url = f"http://127.0.0.1:{HTTP_PORT}/accounts/login/"
            urllib.request.urlopen(url, timeout=10)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    started = time.monotonic()
    large = int(os.environ.get("BENCH_REFERRALS", "1000000"))
    seconds = int(os.environ.get("BENCH_HTTP_SECONDS", "60"))
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
        }
        print("Datasets:", results["datasets"], flush=True)
        # Production settings serve hashed static files: collect them once, as a deploy does.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            env=_env(SMALL),
            cwd=ROOT,
            check=True,
        )
        migrate(SMALL)
        migrate(LARGE)
        server.copy_database(LARGE, WORK)
        results["queue_10k"] = _run("bench.measure", "queue", database=SMALL)
        results["queue_large"] = _run("bench.measure", "queue", database=WORK)
        results["queue_ratio_p50"] = round(
            results["queue_large"]["p50_ms"] / results["queue_10k"]["p50_ms"], 2
        )
        results["api"] = _run("bench.measure", "api", database=WORK)
        results["explain"] = _run("bench.measure", "explain", database=WORK)
        results["empty_sweep"] = _run("bench.measure", "empty-sweep", database=WORK)
        results["sweep_100k"] = _run("bench.measure", "sweep", "100000", database=WORK)
        results["http"] = http_load(seconds)
        results["referrals"] = large
        results["total_seconds"] = round(time.monotonic() - started)
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        server.stop()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def print_table(r: dict[str, Any]) -> None:
    rows = [
        (
            "Queue page (50 rows), 10k referrals",
            f"p50 {r['queue_10k']['p50_ms']} ms, p95 "
            f"{r['queue_10k']['p95_ms']} ms, {r['queue_10k']['queries']} queries",
            "",
        ),
        (
            f"Queue page (50 rows), {r['referrals']:,} referrals",
            f"p50 {r['queue_large']['p50_ms']} ms, p95 {r['queue_large']['p95_ms']} ms, "
            f"{r['queue_large']['queries']} queries",
            "p50 <= 50 ms",
        ),
        ("Queue ratio large/10k (p50)", f"{r['queue_ratio_p50']}", "<= 1.3"),
        (
            "API list page (100 rows) vs raw fetch + json.dumps",
            f"API p50 {r['api']['api']['p50_ms']} ms, raw p50 {r['api']['raw']['p50_ms']} ms, "
            f"ratio {r['api']['ratio_p50']}, {r['api']['queries']} queries",
            "<= 3x",
        ),
        (
            f"Sweep of {r['sweep_100k']['overdue']:,} overdue referrals",
            f"{r['sweep_100k']['seconds']} s, {r['sweep_100k']['escalations']} escalations, "
            f"{r['sweep_100k']['duplicates']} duplicates",
            "<= 20 s, 0 duplicates",
        ),
        (
            f"Empty sweep over {r['referrals']:,}",
            f"p50 {r['empty_sweep']['p50_ms']} ms",
            "<= 10 ms",
        ),
        (
            "HTTP submissions, 50 clients",
            _http_text(r["http"]),
            ">= 100/s, p95 <= 250 ms, 0 errors",
        ),
        (
            "Sequential scans of referrals (queue, API, sweep)",
            ", ".join(f"{k} {v['seq_scans_of_referrals']}" for k, v in r["explain"].items()),
            "0",
        ),
    ]
    width = max(len(name) for name, _, _ in rows)
    print()
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure}" + (f"   (target {target})" if target else ""))
    print(f"\nResults in {RESULTS.relative_to(ROOT)}; {r['total_seconds']} s in all.")


def _http_text(http: dict[str, Any]) -> str:
    if "skipped" in http:
        return str(http["skipped"])
    return (
        f"{http['per_second']}/s, p50 {http['p50_ms']} ms, p95 {http['p95_ms']} ms, "
        f"{http['errors']} errors"
    )


if __name__ == "__main__":
    main()
