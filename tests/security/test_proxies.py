"""Forwarded headers are believed only from our own proxies; HTTPS is the default."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from referrals.models import AuditAction, AuditEvent
from safeguarding.proxies import client_address
from tests.conftest import PASSWORD

CLIENT = "198.51.100.20"
ATTACKER = "203.0.113.66"
PROXY = "10.0.0.5"


def _sign_in_fails(client: Client, user: Any, **meta: Any) -> None:
    client.post("/accounts/login/", {"username": user.email, "password": "wrong"}, **meta)


def test_forwarded_headers_from_anyone_else_are_ignored(client: Client, teacher: Any) -> None:
    _sign_in_fails(client, teacher, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=CLIENT)
    failed = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert failed.ip_address == ATTACKER


def test_behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_hop(
    client: Client, teacher: Any, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The client wrote the left-most entry itself; our two proxies appended what they saw.
    chain = f"192.0.2.1, {CLIENT}, 10.0.0.4"
    _sign_in_fails(client, teacher, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=chain)
    failed = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert failed.ip_address == CLIENT


def test_one_clients_failures_do_not_lock_the_person_out_from_elsewhere(
    teacher: Any, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = [PROXY]
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in_fails(attacker, teacher)
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).exists()

    person = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    signed = person.post("/accounts/login/", {"username": teacher.email, "password": PASSWORD})
    assert signed.status_code == 302  # signed in (a lockout answers 429 with its page)
    assert person.session["_auth_user_id"] == str(teacher.pk)


def test_https_is_believed_only_from_a_trusted_proxy(client: Client, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.TRUSTED_PROXIES = [PROXY]
    spoofed = client.get("/accounts/login/", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301
    assert spoofed["Location"].startswith("https://")
    proxied = client.get(
        "/accounts/login/",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR=CLIENT,
    )
    assert proxied.status_code == 200


def test_the_health_check_answers_the_load_balancer_over_http(
    client: Client, settings: Any, redis_proc: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code != 301


@pytest.mark.parametrize(
    ("peer", "chain", "expected"),
    [
        (ATTACKER, CLIENT, ATTACKER),  # not a proxy of ours: its header means nothing
        (PROXY, "", PROXY),  # a proxy that said nothing
        (PROXY, "not-an-address", PROXY),  # a malformed chain: only the peer is known
        (PROXY, f"{CLIENT}, {PROXY}", CLIENT),
        (PROXY, f"{PROXY}, {PROXY}", PROXY),  # every hop ours: the left-most
    ],
)
def test_client_address(settings: Any, peer: str, chain: str, expected: str) -> None:
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_address(peer, chain) == expected
