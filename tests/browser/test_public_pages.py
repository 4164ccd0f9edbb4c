"""Issue 15 in Debian's Chromium: the accessibility statement, privacy notice, cookies and help
pages open from the footer of any page, signed out and signed in; each passes axe with no
violation at all and reflows at 320 px with no sideways scroll; the phase banner's feedback link
is on every page; sign-in and code errors are in GOV.UK's words, in an error summary whose
links take the person to the field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, World, axe_violations, sign_in, totp_now

pytestmark = pytest.mark.browser

PAGES = (
    ("Help and contact", "/help/", "Help and contact"),
    ("Accessibility statement", "/accessibility/", "Accessibility statement for"),
    ("Privacy", "/privacy/", "Privacy notice"),
    ("Cookies", "/cookies/", "Cookies"),
)


def _fits_and_passes_axe(page: Any) -> None:
    assert axe_violations(page) == [], page.url
    page.set_viewport_size({"width": 320, "height": 800})
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, page.url
        assert axe_violations(page) == [], page.url
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


def _every_page_from_the_footer(page: Any) -> None:
    for link, path, heading in PAGES:
        page.locator("footer").get_by_role("link", name=link, exact=True).click()
        page.wait_for_url(re.compile(f"{path}$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        banner = page.locator(".govuk-phase-banner")
        expect(banner).to_contain_text("Beta")
        expect(banner.get_by_role("link", name="give your feedback")).to_have_attribute(
            "href", re.compile("^mailto:")
        )
        _fits_and_passes_axe(page)


def test_the_public_pages_open_from_the_footer_signed_out_and_signed_in(
    page: Any, world: World, dsl: Any
) -> None:
    response = page.goto("/accounts/login/")
    assert response.status == 200
    _every_page_from_the_footer(page)
    for _, path, _ in PAGES:
        assert page.request.get(path).status == 200
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    sign_in(page, dsl)
    _every_page_from_the_footer(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_help_gives_999_and_each_authoritys_front_door(page: Any, world: World) -> None:
    page.goto("/help/")
    expect(page.get_by_text("If a child is in immediate danger, call 999.").first).to_be_visible()
    table = page.get_by_role("table", name="Children's services phone numbers")
    expect(table.get_by_role("row", name=re.compile("Northshire"))).to_contain_text("01632 960001")
    expect(table.get_by_role("link", name="01632 960001").first).to_have_attribute(
        "href", "tel:01632960001"
    )


def test_the_footer_link_is_reached_by_keyboard(page: Any, world: World) -> None:
    page.goto("/accounts/login/")
    link = page.locator("footer").get_by_role("link", name="Accessibility statement")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/accessibility/$"))


def _summary(page: Any) -> Any:
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # GOV.UK Frontend moves focus to it
    return summary


def test_sign_in_errors_are_in_govuk_words_and_lead_to_the_field(page: Any, dsl: Any) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in").click()
    summary = _summary(page)
    expect(summary.get_by_role("link")).to_have_text(
        ["Enter your email address", "Enter your password"]
    )
    assert page.title().startswith("Error: Sign in")
    expect(page.locator("#id_username-error")).to_have_text("Error: Enter your email address")
    assert "This field is required" not in page.content()
    assert axe_violations(page) == []
    summary.get_by_role("link", name="Enter your password").click()
    expect(page.get_by_label("Password")).to_be_focused()

    page.get_by_label("Email address").fill(dsl.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    summary = _summary(page)
    expect(summary.get_by_role("link")).to_have_text(["Enter a correct email address and password"])
    assert axe_violations(page) == []
    summary.get_by_role("link").click()
    expect(page.get_by_label("Email address")).to_be_focused()
    _fits_and_passes_axe(page)


def test_a_missing_code_asks_for_the_six_digits(page: Any, dsl: Any) -> None:
    totp_now(dsl)
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(dsl.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("/accounts/mfa/"))
    page.get_by_role("button", name="Continue").click()
    summary = _summary(page)
    expect(summary.get_by_role("link")).to_have_text(
        ["Enter the 6-digit code from your authenticator app"]
    )
    assert axe_violations(page) == []
    summary.get_by_role("link").click()
    expect(page.get_by_label("Security code")).to_be_focused()
    # Help is one click away halfway through signing in.
    page.locator("footer").get_by_role("link", name="Help and contact").click()
    page.wait_for_url(re.compile("/help/$"))
    expect(page.get_by_role("heading", name="Help with signing in")).to_be_visible()
