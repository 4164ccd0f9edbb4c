"""Issue 15, the pages every public service has: the accessibility statement, the privacy notice,
cookies, and help and contact answer everyone, signed in or not (halfway through signing in too),
are linked from the footer of every page, and show nothing about anybody; the phase banner and
its feedback link are on every page; sign-in and code errors are in GOV.UK's words."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from safeguarding import settings as project_settings
from tests import factories
from tests.conftest import PASSWORD, World, signed_in, totp_now

PAGES = {
    "/accessibility/": "Accessibility statement for Safeguarding referrals",
    "/privacy/": "Privacy notice",
    "/cookies/": "Cookies",
    "/help/": "Help and contact",
}


def _footer(body: str) -> str:
    return body.split("<footer", 1)[1]


def _h1(body: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    assert match, "no h1"
    return match.group(1).strip()


@pytest.mark.parametrize("path", PAGES)
def test_it_answers_signed_out_and_signed_in(path: str, client: Client, dsl: Any) -> None:
    signed_out = client.get(path)
    assert signed_out.status_code == 200
    assert _h1(signed_out.content.decode()) == PAGES[path]
    page = signed_in(Client(), dsl).get(path)
    assert page.status_code == 200
    assert _h1(page.content.decode()) == PAGES[path]
    assert 'aria-label="Menu"' in page.content.decode()  # the signed-in navigation


@pytest.mark.parametrize("path", PAGES)
def test_it_answers_halfway_through_signing_in(path: str, client: Client, dsl: Any) -> None:
    totp_now(dsl)
    client.post("/accounts/login/", {"username": dsl.email, "password": PASSWORD})
    assert client.get("/")["Location"] == "/accounts/mfa/"  # the second factor is still due
    assert client.get(path).status_code == 200


def test_the_footer_of_every_kind_of_page_links_all_four(client: Client, dsl: Any) -> None:
    bodies = [
        client.get("/accounts/login/").content.decode(),
        client.get("/help/").content.decode(),
        signed_in(Client(), dsl).get("/").content.decode(),
        signed_in(Client(), dsl).get("/concerns/").content.decode(),
    ]
    for body in bodies:
        footer = _footer(body)
        for path in PAGES:
            assert f'class="govuk-footer__link" href="{path}"' in footer
        assert "If a child is in immediate danger, call 999." in footer


def test_the_phase_banner_and_its_feedback_link_are_on_every_page(
    client: Client, dsl: Any, settings: Any
) -> None:
    settings.FEEDBACK_URL = "https://feedback.example/safeguarding"
    for response in (client.get("/accounts/login/"), signed_in(Client(), dsl).get("/")):
        body = response.content.decode()
        assert 'govuk-phase-banner__content__tag">Beta</strong>' in body
        assert '<a class="govuk-link" href="https://feedback.example/safeguarding">' in body
        assert "Demonstration data only" not in body
    settings.DEMO_MODE = True
    body = client.get("/accounts/login/").content.decode()
    assert 'govuk-phase-banner__content__tag">Demo</strong>' in body
    assert "Never enter a real child's details here." in body
    assert 'href="https://feedback.example/safeguarding">give your feedback</a>' in body


def test_the_feedback_link_writes_to_the_service_by_default() -> None:
    assert project_settings.FEEDBACK_URL.startswith(
        f"mailto:{project_settings.SERVICE_CONTACT_EMAIL}?subject="
    )


def test_help_lists_each_authoritys_public_phone_numbers_and_nothing_else(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    world.northshire.out_of_hours_phone = "01632 960999"
    world.northshire.save()
    factories.LocalAuthorityFactory.create(name="Eastmere", front_door_phone="")
    with django_assert_max_num_queries(1):
        body = client.get("/help/").content.decode()
    assert "If a child is in immediate danger, call 999." in body
    rows = re.findall(r'<th scope="row" class="govuk-table__header">([^<]+)</th>', body)
    assert rows == ["Northshire", "Southvale"]  # Eastmere gave no number
    assert 'href="tel:01632960001">01632 960001</a>' in body
    assert 'href="tel:01632960999">01632 960999</a>' in body
    assert world.northshire.ons_code not in body
    assert "Riverside" not in body  # no agency, team or person


def _cookies_set(response: Any) -> set[str]:
    return {name for name, morsel in response.cookies.items() if morsel.value}


def test_the_cookies_page_lists_every_cookie_the_service_sets(
    client: Client, dsl: Any, settings: Any
) -> None:
    set_by_service: set[str] = set()
    totp_now(dsl)
    set_by_service |= _cookies_set(client.get("/accounts/login/"))
    set_by_service |= _cookies_set(
        client.post("/accounts/login/", {"username": dsl.email, "password": PASSWORD})
    )
    set_by_service |= _cookies_set(client.post("/accounts/mfa/", {"token": totp_now(dsl)}))
    set_by_service |= _cookies_set(client.get("/"))
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=1)
    with time_machine.travel(later):
        # Signed out for doing nothing: the reason travels to the sign-in page in a cookie.
        set_by_service |= _cookies_set(client.get("/concerns/"))
    assert set_by_service == {"csrftoken", "sessionid", "messages"}
    body = Client().get("/cookies/").content.decode()
    listed = set(re.findall(r'data-cookie="([^"]+)"', body))
    assert listed == set_by_service
    assert "12 hours, or when you sign out" in body
    assert "1 year" in body
    assert "no cookie banner" in body


# Sign-in and code errors in GOV.UK's words ---------------------------------------------------


def _summary_links(body: str) -> list[tuple[str, str]]:
    summary = body.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)


def test_an_empty_sign_in_asks_for_the_email_address_and_password(client: Client) -> None:
    body = client.post("/accounts/login/", {"username": "", "password": ""}).content.decode()
    assert _summary_links(body) == [
        ("id_username", "Enter your email address"),
        ("id_password", "Enter your password"),
    ]
    assert "<title>Error: Sign in" in body
    assert "This field is required" not in body


def test_a_wrong_password_or_an_unknown_email_get_the_same_words(client: Client, dsl: Any) -> None:
    wrong = client.post("/accounts/login/", {"username": dsl.email, "password": "wrong"})
    unknown = client.post("/accounts/login/", {"username": "nobody@x.test", "password": "wrong"})
    for response in (wrong, unknown):
        body = response.content.decode()
        assert response.status_code == 200
        assert _summary_links(body) == [
            ("id_username", "Enter a correct email address and password")
        ]
        assert 'id="id_username-error"' in body
    assert client.get("/").status_code == 302


def test_an_inactive_account_is_not_told_apart(client: Client, dsl: Any) -> None:
    dsl.is_active = False
    dsl.save()
    body = client.post(
        "/accounts/login/", {"username": dsl.email, "password": PASSWORD}
    ).content.decode()
    assert _summary_links(body) == [("id_username", "Enter a correct email address and password")]


def test_an_email_address_in_the_wrong_format_says_how_it_should_look(client: Client) -> None:
    body = client.post("/accounts/login/", {"username": "dsl", "password": "x"}).content.decode()
    assert _summary_links(body) == [
        ("id_username", "Enter an email address in the correct format, like name@example.com")
    ]


@pytest.mark.parametrize("code", ["", "123"])
def test_a_missing_or_short_code_asks_for_the_six_digits(
    code: str, client: Client, dsl: Any
) -> None:
    totp_now(dsl)
    client.post("/accounts/login/", {"username": dsl.email, "password": PASSWORD})
    body = client.post("/accounts/mfa/", {"token": code}).content.decode()
    assert _summary_links(body) == [
        ("id_token", "Enter the 6-digit code from your authenticator app")
    ]
    assert "<title>Error: Enter your security code" in body
