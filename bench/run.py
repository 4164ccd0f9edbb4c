"""Running the bench's pieces: the environment each runs in, and a measurement's JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import server

ROOT = Path(__file__).resolve().parent.parent
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "56379"))


def env(database: str, **extra: str) -> dict[str, str]:
    """Production settings pointed at a bench database (and `extra` over them)."""
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
        # No anchor from another run (or the demo) for audit_verify to hold the trail to.
        "AUDIT_ANCHOR_FILE": str(ROOT / ".data" / "bench" / "audit-anchors.jsonl"),
        **extra,
    }


def measure(module: str, *args: str, database: str, **extra: str) -> dict[str, Any]:
    """Run `python -m module args` against a bench database; the last JSON line it prints."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env(database, **extra),
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


def migrate(database: str) -> None:
    """Bring a cached dataset's schema up to the code's migrations."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        env=env(database),
        cwd=ROOT,
        check=True,
    )
