"""A PostgreSQL server for the benchmarks, its data kept under .data/bench between runs."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_CTL = ROOT / "tests" / "bin" / "pg_ctl"
BENCH_DIR = ROOT / ".data" / "bench"
DATA_DIR = BENCH_DIR / "pgdata"
PORT = int(os.environ.get("BENCH_PG_PORT", "55439"))
# Modest, documented settings for one 2-core machine; durability is left on.
OPTIONS = (
    f"-p {PORT} -c listen_addresses=127.0.0.1 -c max_connections=200 "
    "-c shared_buffers=512MB -c work_mem=16MB -c maintenance_work_mem=256MB "
    "-c effective_cache_size=4GB -c random_page_cost=1.1 -c checkpoint_timeout=15min "
    "-c max_wal_size=4GB"
)


def url(database: str) -> str:
    return f"postgres://postgres@127.0.0.1:{PORT}/{database}"


def _pg_ctl(*args: str) -> None:
    subprocess.run([str(PG_CTL), *args], check=True, stdout=subprocess.DEVNULL)


def start() -> None:
    """Start the server, creating its cluster the first time."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # The postgres user must reach and own the cluster's folder.
        for folder in (ROOT / ".data", BENCH_DIR):
            folder.chmod(0o755)
    if not (DATA_DIR / "PG_VERSION").exists():
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        DATA_DIR.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(DATA_DIR, "postgres", "postgres")
        _pg_ctl("initdb", "-D", str(DATA_DIR), "-o", "--auth=trust --username=postgres")
    if _ready():
        return  # left running by an interrupted run: use it
    _pg_ctl("start", "-w", "-D", str(DATA_DIR), "-o", OPTIONS, "-l", str(DATA_DIR / "log"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _ready():
            return
        time.sleep(0.2)
    raise RuntimeError("PostgreSQL did not start for the benchmarks")


def _ready() -> bool:
    """Whether our cluster answers on the port; another server there is an error, not ours."""
    try:
        with psycopg.connect(url("postgres"), connect_timeout=2) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
    except psycopg.OperationalError:
        return False
    if row is None or Path(row[0]).resolve() != DATA_DIR.resolve():
        raise SystemExit(
            f"Another PostgreSQL ({row[0] if row else '?'}) listens on port {PORT}: "
            "stop it or set BENCH_PG_PORT."
        )
    return True


def stop() -> None:
    _pg_ctl("stop", "-m", "fast", "-D", str(DATA_DIR))


def database_exists(name: str) -> bool:
    with psycopg.connect(url("postgres"), autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def copy_database(source: str, target: str) -> None:
    """A throwaway copy for the benchmarks that write (a file-level copy: seconds)."""
    with psycopg.connect(url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def create_database(name: str) -> None:
    with psycopg.connect(url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


HTTP_PORT = int(os.environ.get("BENCH_HTTP_PORT", "8765"))


@contextlib.contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[int]:
    """gunicorn serving the service as production starts it (safeguarding/gunicorn.py, its
    access log thrown away); yields the port. BENCH_GUNICORN_WORKERS and _THREADS override the
    config file's workers and threads (4 and 4 where it names none)."""
    config = importlib.import_module("safeguarding.gunicorn")
    workers = os.environ.get("BENCH_GUNICORN_WORKERS") or str(getattr(config, "workers", 4))
    threads = os.environ.get("BENCH_GUNICORN_THREADS") or str(getattr(config, "threads", 4))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "safeguarding.wsgi",
            "-c",
            "python:safeguarding.gunicorn",
            "--bind",
            f"127.0.0.1:{HTTP_PORT}",
            "--workers",
            workers,
            "--threads",
            threads,
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_http(process)
        yield HTTP_PORT
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait_for_http(process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped as it started")
        try:
            # The sign-in page answers anyone; /healthz would also wait on the broker.
            url = f"http://127.0.0.1:{HTTP_PORT}/accounts/login/"
            urllib.request.urlopen(url, timeout=10)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")
