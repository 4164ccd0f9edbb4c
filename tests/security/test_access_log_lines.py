"""gunicorn's access log and the app's logs, over a real HTTP journey, hold no child identifier."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from referrals.casework.partners import api_client_create
from tests.conftest import ROOT, wait_for, worker_environment

NHS = "9434765919"
CHILD = {
    "first_name": "Zephyrine",
    "last_name": "Quillonbrae",
    "date_of_birth": "2013-04-02",
    "postcode": "NS7 4QX",
    "nhs_number": "943 476 5919",
}
# Every way the child could be named in a log line.
IDENTIFIERS = ("9434765919", "943 476 5919", "943+476+5919", "Zephyrine", "Quillonbrae",
               "2013-04-02", "NS7 4QX", "NS7+4QX", "NS7%204QX")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(redis_proc: Any, transactional_db: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """gunicorn as production starts it (its settings module), against the test database."""
    port = _free_port()
    logfile = tmp_path / "gunicorn.log"
    env = worker_environment() | {
        "SECRET_KEY": "tests-only-not-a-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "DATA_DIR": str(ROOT / ".data"),
        "API_THROTTLE_RATE": "100000/min",
    }
    with logfile.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "safeguarding.wsgi", "-c",
             "python:safeguarding.gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base) or process.poll() is not None, timeout=60)
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{logfile.read_text()}")
        yield base, logfile
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 - loopback
    except (urllib.error.URLError, OSError):
        return False
    return True


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _token(base: str, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/o/token/",
        data=b"grant_type=client_credentials&scope=referrals%3Aread+referrals%3Awrite",
        headers={"Authorization": f"Basic {basic}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return str(json.loads(response.read())["access_token"])


def test_a_journey_over_http_leaves_no_identifier_in_any_log_line(
    server: tuple[str, Path], world: Any, settings: Any
) -> None:
    base, logfile = server
    # The server checks client secrets with production's hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    police_app, police_secret = api_client_create(agency=world.police, name="Police system")
    csc_app, csc_secret = api_client_create(agency=world.north_csc, name="Front door system")
    police = _token(base, police_app.client_id, police_secret)
    front_door = _token(base, csc_app.client_id, csc_secret)
    referral = {
        "child": CHILD,
        "urgency": "urgent",
        "category": "physical",
        "reason": "Officers attended a domestic incident; the child was present.",
        "consent": "given",
        "parents_aware": "yes",
        "referrer_name": "PC Olive Officer",
        "referrer_phone": "01632 960555",
        "referrer_email": "olive.officer@police.example",
        "desired_outcome": "A strategy discussion with police.",
    }
    status, made = _call(base, "POST", "/api/v1/referrals/", police, referral)
    assert status == 201, made
    # Refused input naming the child, and the look-up by NHS number, both over HTTP.
    bad = {**referral, "child": {**CHILD, "date_of_birth": CHILD["last_name"]}}
    assert _call(base, "POST", "/api/v1/referrals/", police, bad)[0] == 400
    status, found = _call(
        base, "POST", "/api/v1/referrals/search/", front_door, {"nhs_number": NHS}
    )
    assert (status, [r["id"] for r in found["results"]]) == (200, [made["id"]])
    assert _call(base, "GET", f"/api/v1/referrals/{made['id']}/", front_door)[0] == 200
    # A client that still puts identifiers in the address: answered, never written down.
    query = "?nhs_number=943+476+5919&postcode=NS7%204QX"
    assert _call(base, "GET", f"/api/v1/referrals/{query}", front_door)[0] == 200

    # gunicorn writes a request's line after answering it: wait for the last one to land.
    last = '"GET /api/v1/referrals/ HTTP/1.1" 200'
    wait_for(lambda: last in logfile.read_text(errors="replace"), timeout=15)
    log = logfile.read_text(errors="replace")
    assert '"POST /api/v1/referrals/search/ HTTP/1.1" 200' in log  # the access log is there
    assert last in log
    for identifier in IDENTIFIERS:
        assert identifier not in log, identifier
