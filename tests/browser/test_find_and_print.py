"""Issue 15 in Debian's Chromium: a DSL finds a child by a misspelt surname and the date of birth,
focus lands on the results, the result opens the chronology, which filters, prints without its
menus and with a watermark, and downloads as a PDF that says who made it. axe finds nothing on
either page, and neither scrolls sideways at 320 px."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from referrals.casework.referrals import referral_create, referral_submit
from referrals.models import AuditAction, AuditEvent, Child, Referral
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser

CONCERNS = 8
END = "END-OF-ACCOUNT"
WATERMARK = "Printed by Dee Lead, Riverside Primary School"


def _story(world: World, dsl: Any, teacher: Any) -> Child:
    dsl.first_name, dsl.last_name = "Dee", "Lead"
    dsl.save()
    amy = factories.ChildFactory.create(
        created_by_agency=world.riverside,
        first_name="Amy",
        last_name="Example",
        date_of_birth=datetime.date(2016, 3, 27),
    )
    factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Ben", last_name="Example"
    )
    # Enough long concerns for a printed chronology of several pages.
    for day in range(1, 1 + CONCERNS):
        factories.ConcernFactory.create(
            agency=world.riverside,
            child=amy,
            raised_by=teacher,
            what_happened=f"Arrived hungry on day {day}. " + "No coat, no breakfast. " * 30 + END,
            observed_at=datetime.datetime(2026, 10, day, 8, 45, tzinfo=datetime.UTC),
        )
    referral = referral_create(
        user=dsl,
        agency=world.riverside,
        child=amy,
        urgency="urgent",
        category="neglect",
        reason="Hungry most mornings.",
        desired_outcome="An assessment.",
        consent=Referral.Consent.GIVEN,
    )
    referral_submit(referral=referral, user=dsl)
    return amy


def _fits(page: Any) -> None:
    """No violation at all, and nothing scrolls sideways at 320 px."""
    assert axe_violations(page) == [], page.url
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, page.url
    page.set_viewport_size({"width": 1280, "height": 800})


def _prints_with_a_watermark_on_every_page(page: Any) -> None:
    """Chromium's own print of the page: several pages, each headed by the watermark, no menu,
    and every account in full."""
    page.emulate_media(media="print")
    printed = [
        " ".join((sheet.extract_text() or "").split())
        for sheet in PdfReader(io.BytesIO(page.pdf(format="A4"))).pages
    ]
    page.emulate_media(media="screen")
    assert len(printed) > 2
    assert all(sheet.startswith(WATERMARK) for sheet in printed), [p[:80] for p in printed]
    assert all("OFFICIAL-SENSITIVE" in sheet for sheet in printed)
    text = " ".join(printed)
    assert text.count(END) == CONCERNS  # ...and printed in full
    for menu in ("Find a child", "Sign out", "Filter the chronology", "Download"):
        assert menu not in text


def test_a_dsl_finds_a_child_by_a_misspelt_surname_and_prints_the_chronology(
    page: Any, world: World, dsl: Any, teacher: Any
) -> None:
    amy = _story(world, dsl, teacher)
    sign_in(page, dsl)
    page.get_by_role("link", name="Find a child").click()
    page.wait_for_url(re.compile(r"/children/search/$"))
    _fits(page)
    page.get_by_label("Last name").fill("Exmaple")
    page.get_by_label("Day").fill("27")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2016")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/children/search/\?results=[\w-]+$"))
    assert "Exmaple" not in page.url
    assert "2016" not in page.url
    heading = page.get_by_role("heading", name="1 child found", level=2)
    expect(heading).to_be_focused()
    _fits(page)
    page.get_by_role("link", name="Amy Example", exact=True).click()
    page.wait_for_url(re.compile(rf"/children/{amy.pk}/$"))
    expect(page.get_by_role("heading", name="Amy Example", level=1)).to_be_visible()
    expect(page.get_by_text("Referral: Submitted")).to_be_visible()
    expect(page.get_by_text("Draft started")).to_have_count(0)
    for account_end in page.get_by_text(END).all():  # long accounts are cut short on screen...
        expect(account_end).to_be_hidden()
    _fits(page)
    _prints_with_a_watermark_on_every_page(page)

    # Filters fold away; only the referral's entries once applied.
    page.get_by_text("Filter the chronology").click()
    page.get_by_label("Referrals and what happened to them").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"\?kind=referral&"))
    expect(page.get_by_text(f"Showing 1 of {CONCERNS + 1} entries, filtered.")).to_be_visible()
    expect(page.get_by_text("Concern recorded")).to_have_count(0)
    _fits(page)

    # On paper: no menus, buttons or filters; who printed it and when.
    page.emulate_media(media="print")
    expect(page.locator(".govuk-service-navigation")).to_be_hidden()
    downloads = page.locator('a[href*="/chronology."]')
    expect(downloads).to_have_count(2)
    for link in downloads.all():
        expect(link).to_be_hidden()
    expect(page.locator("details")).to_be_hidden()
    watermark = page.locator(".app-print-watermark")
    expect(watermark).to_be_visible()
    expect(watermark).to_contain_text(WATERMARK)
    expect(watermark).to_contain_text("OFFICIAL-SENSITIVE")
    page.emulate_media(media="screen")
    expect(watermark).to_be_hidden()

    # The PDF of what is shown: the filtered entries, the watermark, and the export audited.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these entries as a PDF").click()
    download = download_info.value
    assert re.fullmatch(
        rf"chronology-child-{amy.pk}-\d{{4}}-\d\d-\d\d\.pdf", download.suggested_filename
    )
    with open(download.path(), "rb") as pdf:
        text = " ".join(
            " ".join((p.extract_text() or "").split())
            for p in PdfReader(io.BytesIO(pdf.read())).pages
        )
    assert "Referral: Submitted" in text
    assert "Concern recorded" not in text
    assert "filtered (kind: Referrals and what happened to them)" in text
    assert WATERMARK in text
    assert "OFFICIAL-SENSITIVE" in text
    event = AuditEvent.objects.get(actor=dsl, action=AuditAction.DOWNLOAD)
    assert (event.target_id, event.data["format"], event.data["entries"]) == (str(amy.pk), "pdf", 1)
    assert event.data["filters"]["kinds"] == ["referral"]
