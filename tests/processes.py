"""Real Celery worker and beat processes for the fault tests, started, killed and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_for, worker_environment

# Short enough that the fault tests finish in seconds, long enough to be a real interval.
SWEEP_INTERVAL_SECONDS = 1.0


@dataclass
class CeleryProcess:
    name: str
    process: subprocess.Popen[bytes]
    logfile: Path

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9 the whole process group: the main process and its pool children."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def celery_environment(tmp_path: Path, interval: float) -> dict[str, str]:
    return {
        **worker_environment(),
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "ESCALATION_SWEEP_INTERVAL_SECONDS": str(interval),
        "NOTIFICATION_RELAY_INTERVAL_SECONDS": str(interval),
        "NOTIFICATION_CLAIM_TIMEOUT_SECONDS": "5",
    }


def start_celery(
    kind: str,
    name: str,
    tmp_path: Path,
    *,
    concurrency: int = 2,
    interval: float = SWEEP_INTERVAL_SECONDS,
    env: dict[str, str] | None = None,
) -> CeleryProcess:
    """Start `celery worker` or `celery beat` on the project's app; return once it is up."""
    logfile = tmp_path / f"{name}.log"
    start = logfile.stat().st_size if logfile.exists() else 0
    if kind == "worker":
        args = [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ]
        ready = "ready."
    else:
        # Each beat its own schedule file, as separate machines would have.
        args = ["beat", "--loglevel=INFO", "--schedule", str(tmp_path / f"{name}-schedule")]
        ready = "beat: Starting..."
    with logfile.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "safeguarding", *args],
            cwd=ROOT,
            env={**celery_environment(tmp_path, interval), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = CeleryProcess(name=name, process=process, logfile=logfile)
    wait_for(lambda: ready in started.log()[start:] or process.poll() is not None, timeout=60)
    if process.poll() is not None:
        pytest.fail(f"celery {kind} {name} exited early:\n{started.log()}")
    return started
