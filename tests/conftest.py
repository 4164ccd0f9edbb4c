"""Real servers for the tests: PostgreSQL, Redis, a Celery worker and Chromium.

PostgreSQL and Redis are started by the test session from the machine's own binaries (see
tests/settings.py for the ports). A Celery worker runs as a separate process on the project's
app, against the test database. Pages are driven in Debian's Chromium through Playwright.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from pytest_postgresql.executors.proc import PostgreSQLExecutor
from pytest_redis import factories as redis_factories

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
PG_CTL_WRAPPER = ROOT / "tests" / "bin" / "pg_ctl"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _audit_anchors_of_this_test(settings: Any, tmp_path: Path) -> None:
    """Each test anchors the audit chain in its own file: its database is its own too."""
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "audit-anchors.jsonl")


# PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgresql_proc() -> Iterator[PostgreSQLExecutor]:
    """A throwaway PostgreSQL cluster, run as the postgres user when the tests run as root."""
    base = Path(tempfile.mkdtemp(prefix="safeguarding-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    executor = PostgreSQLExecutor(
        executable=str(PG_CTL_WRAPPER),
        host="127.0.0.1",
        port=settings.TEST_PG_PORT,
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="safeguarding",
        user="postgres",
        # Durability is not what these tests are about; speed is.
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=200",
    )
    executor.start()
    executor.wait_for_postgres()
    try:
        yield executor
    finally:
        executor.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgresql_proc: PostgreSQLExecutor) -> None:
    """Make sure the server is up before pytest-django creates the test database."""
    assert settings.DATABASES["default"]["PORT"] == postgresql_proc.port


# Redis and Celery ----------------------------------------------------------------------------

redis_proc = redis_factories.redis_proc(
    executable=shutil.which("redis-server") or "/usr/bin/redis-server",
    port=settings.TEST_REDIS_PORT,
)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    logfile: Path

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")


def worker_environment() -> dict[str, str]:
    """The environment of a worker process: the test database and the test Redis."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "PYTHONUNBUFFERED": "1",
    }


def wait_for(predicate: Callable[[], Any], *, timeout: float = 30, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"Condition not met within {timeout} s")


@pytest.fixture
def celery_worker(
    redis_proc: Any, transactional_db: None, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A real `celery worker` process on the project's app, against the test database."""
    logfile = tmp_path / "worker.log"
    env = worker_environment()
    env["EMAIL_FILE_PATH"] = str(tmp_path / "mail")
    with logfile.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "safeguarding",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(process=process, logfile=logfile)
    try:
        wait_for(lambda: "ready." in worker.log() or process.poll() is not None, timeout=60)
        if process.poll() is not None:
            pytest.fail(f"The Celery worker exited early:\n{worker.log()}")
        yield worker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# Chromium ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make test`, which installs it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe on the page with every rule it runs by default, best practice included; return
    every violation whatever its impact (the bar: none at all), as rule id and offending nodes."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {
            "id": violation["id"],
            "impact": violation.get("impact"),
            "nodes": [node.get("target") for node in violation.get("nodes", [])][:5],
        }
        for violation in results.response["violations"]
    ]


# Named people ------------------------------------------------------------------------------


@dataclass
class World:
    """Two authorities with their agencies and teams, as the demo has them."""

    northshire: Any
    southvale: Any
    riverside: Any
    hillview: Any
    north_csc: Any
    front_door: Any
    edt: Any
    police: Any
    health: Any
    southvale_high: Any
    south_csc: Any
    south_front_door: Any


@pytest.fixture
def world(db: None) -> World:
    northshire = factories.LocalAuthorityFactory.create(name="Northshire")
    southvale = factories.LocalAuthorityFactory.create(name="Southvale")
    north_csc = factories.AgencyFactory.create(
        name="Northshire Children's Services", kind="csc", local_authority=northshire
    )
    south_csc = factories.AgencyFactory.create(
        name="Southvale Children's Services", kind="csc", local_authority=southvale
    )
    front_door = factories.TeamFactory.create(agency=north_csc, name="Front Door")
    edt = factories.TeamFactory.create(agency=north_csc, name="Emergency Duty Team", kind="edt")
    south_front_door = factories.TeamFactory.create(agency=south_csc, name="Front Door")
    factories.RoutingRuleFactory.create(
        local_authority=northshire,
        position=10,
        team=edt,
        urgency="immediate",
        out_of_hours="out_of_hours",
    )
    factories.RoutingRuleFactory.create(local_authority=northshire, position=100, team=front_door)
    factories.RoutingRuleFactory.create(
        local_authority=southvale, position=100, team=south_front_door
    )
    return World(
        northshire=northshire,
        southvale=southvale,
        riverside=factories.AgencyFactory.create(
            name="Riverside Primary School", local_authority=northshire
        ),
        hillview=factories.AgencyFactory.create(
            name="Hillview Academy", local_authority=northshire
        ),
        north_csc=north_csc,
        front_door=front_door,
        edt=edt,
        police=factories.AgencyFactory.create(
            name="Northshire Police", kind="police", local_authority=northshire
        ),
        health=factories.AgencyFactory.create(
            name="Northshire Community Health", kind="health", local_authority=northshire
        ),
        southvale_high=factories.AgencyFactory.create(
            name="Southvale High School", local_authority=southvale
        ),
        south_csc=south_csc,
        south_front_door=south_front_door,
    )


def _member(agency: Any, role: str, team: Any = None, email: str | None = None) -> Any:
    user = factories.UserFactory.create(**({"email": email} if email else {}))
    factories.MembershipFactory.create(user=user, agency=agency, team=team, role=role)
    return user


@pytest.fixture
def teacher(world: World) -> Any:
    return _member(world.riverside, "staff", email="teacher@riverside.test")


@pytest.fixture
def dsl(world: World) -> Any:
    return _member(world.riverside, "dsl", email="dsl@riverside.test")


@pytest.fixture
def other_school_dsl(world: World) -> Any:
    return _member(world.hillview, "dsl", email="dsl@hillview.test")


@pytest.fixture
def social_worker(world: World) -> Any:
    return _member(world.north_csc, "social_worker", world.front_door, "sw@northshire.test")


@pytest.fixture
def team_manager(world: World) -> Any:
    return _member(world.north_csc, "team_manager", world.front_door, "manager@northshire.test")


@pytest.fixture
def outsider(world: World) -> Any:
    """A social worker in another authority."""
    return _member(world.south_csc, "social_worker", world.south_front_door, "sw@southvale.test")


@pytest.fixture
def partner(world: World) -> Any:
    """Health's safeguarding lead: sees a referral only when it is shared with health."""
    return _member(world.health, "dsl", email="nurse@health.test")


@pytest.fixture
def southvale_dsl(world: World) -> Any:
    """The safeguarding lead of a school in another authority."""
    return _member(world.southvale_high, "dsl", email="dsl@southvale.test")


@pytest.fixture
def police_officer(world: World) -> Any:
    """Police refer from scratch; in the demo they hold the DSL role in their agency."""
    return _member(world.police, "dsl", email="officer@police.test")


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Uploaded files go to a folder of their own, so a test can see what was stored."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


PASSWORD = "correct-horse-battery-staple"


def signed_in(client: Any, user: Any) -> Any:
    """A test client signed in with a password and a confirmed authenticator app."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def totp_now(user: Any) -> str:
    """A code the user's authenticator app would show, never one already used."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "Phone"}
    )
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = max(time.time(), device.t0 + (device.last_t + 1) * device.step)
    return f"{totp.token():0{device.digits}d}"


def sign_in(page: Any, user: Any, *, go: bool = True) -> None:
    """Sign in through the pages: password, then the authenticator code."""
    import re

    totp_now(user)  # an authenticator app is enrolled before the first sign-in
    if go:
        page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/mfa/"))
    page.get_by_label("Security code").fill(totp_now(user))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "/accounts/login/" in url)
