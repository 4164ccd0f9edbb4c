"""Outside demo mode a signed-in person must pass a second factor before seeing anything."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_a_password_alone_reaches_only_the_second_factor(client: Client, dsl: Any) -> None:
    response = client.post(
        "/accounts/login/",
        {"username": dsl.email, "password": "correct-horse-battery-staple"},
    )
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == "/accounts/mfa/"
    assert client.get("/accounts/mfa/")["Location"] == "/accounts/mfa/enrol/"


def test_a_wrong_password_signs_nobody_in(client: Client, dsl: Any) -> None:
    response = client.post("/accounts/login/", {"username": dsl.email, "password": "wrong"})
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.content.decode()
    assert client.get("/").status_code == 302
