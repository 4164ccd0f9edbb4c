"""Issue 14 in Debian's Chromium: the social worker opens a referral and reads who the child is
and what happened, in the concern's own words, at the top; the file opens from there by
keyboard; the referral page, the queue and the home page have no accessibility violation at
all; the referral page reflows at 320 px without scrolling sideways."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from referrals.concerns.attachments import attachment_create
from referrals.models import AuditAction, AuditEvent, Referral
from referrals.web.templatetags.triage import child_age
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser


def _sent(world: World, dsl: Any) -> Referral:
    """Riverside's DSL referred Amy with the concern a teacher recorded, injuries and a file."""
    amy = factories.ChildFactory.create(
        created_by_agency=world.riverside,
        first_name="Amy",
        last_name="Example",
        date_of_birth=datetime.date(2019, 3, 3),
        address="4 Mill Lane\nRiverside",
        postcode="NS1 4ML",
        nhs_number="9434765919",
    )
    concern = factories.ConcernFactory.create(
        agency=world.riverside,
        child=amy,
        raised_by=dsl,
        location="The playground",
        what_happened="Amy flinched when her teacher raised a hand to point at the board.",
        childs_words="Dad grabs my arm when he is cross.",
        injuries=[{"region": "front-left-forearm", "note": "Four small round bruises"}],
    )
    attachment_create(
        user=dsl,
        upload=SimpleUploadedFile("body-map-notes.txt", b"Noted at 10:15.", "text/plain"),
        concern=concern,
    )
    referral = factories.SubmittedReferralFactory.create(
        child=amy,
        referring_agency=world.riverside,
        referrer=dsl,
        team=world.front_door,
        urgency="urgent",
        reason="Bruising on her arm and a disclosure about dad.",
    )
    referral.concerns.add(concern)
    return referral


def test_the_social_worker_reads_who_and_what_at_the_top(
    page: Any, world: World, dsl: Any, social_worker: Any, media_root: Path
) -> None:
    referral = _sent(world, dsl)
    sign_in(page, social_worker)
    page.goto(f"/referrals/{referral.pk}/")

    child = page.locator("#child-summary")
    expect(child).to_contain_text(child_age(referral.child, timezone.localdate()))
    expect(child).to_contain_text("born 3 Mar 2019")
    expect(child).to_contain_text("4 Mill Lane")
    expect(child).to_contain_text("NS1 4ML")
    expect(child).to_contain_text("943 476 5919")
    expect(child).to_contain_text("Riverside Primary School")
    expect(page.locator("#referral-summary")).to_contain_text(
        re.compile(r"Acknowledge by.+\(in \d+ (minute|hour|day)s?\)")
    )
    words = page.get_by_text("Dad grabs my arm when he is cross.")
    expect(words).to_be_visible()
    expect(page.get_by_text("Amy flinched when her teacher raised a hand")).to_be_visible()
    expect(page.get_by_role("cell", name="Left forearm (front)")).to_be_visible()
    expect(page.get_by_role("cell", name="Four small round bruises")).to_be_visible()
    # At the top: the child, then the referral and the concern's words, before the thread.
    top = page.locator("#child-summary").bounding_box()["y"]
    said = words.bounding_box()["y"]
    thread = page.locator("#messages").bounding_box()["y"]
    assert top < said < thread
    assert AuditEvent.objects.filter(
        actor=social_worker, action=AuditAction.VIEW, target_type="referrals.concern"
    ).exists()
    assert axe_violations(page) == [], page.url

    # The concern's file opens from here, by keyboard.
    link = page.get_by_role("link", name="body-map-notes.txt")
    link.focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == "body-map-notes.txt"

    for url in ("/queue/", "/"):
        page.goto(url)
        expect(page.get_by_text("Acknowledge by").first).to_be_visible()
        assert axe_violations(page) == [], page.url

    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"/referrals/{referral.pk}/")
    expect(page.get_by_text("Dad grabs my arm when he is cross.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
