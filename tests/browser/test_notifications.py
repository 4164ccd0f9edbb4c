"""Issue 14 in Debian's Chromium: the header's unread count leads to the notifications page,
opening one goes to its record and reads it, all can be read at once, and the email choices
page keeps what the person chose; every page passes axe with no violation at all and reflows
at 320 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from referrals.concerns.services import concern_create
from referrals.core.choices import Urgency
from referrals.models import Notification, NotificationPreference
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser


def _fits(page: Any, url: str) -> None:
    assert axe_violations(page) == [], url
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, url
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_lead_reads_notifications_from_the_header_and_chooses_emails(
    page: Any, world: World, teacher: Any, dsl: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside, first_name="Amy")
    routine, urgent = (
        concern_create(
            user=teacher,
            agency=world.riverside,
            child=child,
            urgency=urgency,
            observed_at=timezone.now(),
            what_happened=f"What happened, {urgency}.",
        )
        for urgency in (Urgency.STANDARD, Urgency.IMMEDIATE)
    )
    sign_in(page, dsl)
    count = page.locator("#nav-notifications")
    expect(count).to_have_text("Notifications 2 unread")
    count.click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    items = page.locator("[data-row]")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("A concern needs you straight away")
    expect(items.first).to_contain_text("Unread")
    _fits(page, page.url)

    # Opening the urgent one goes to the concern and reads it.
    page.get_by_role("link", name="A concern needs you straight away").click()
    page.wait_for_url(re.compile(rf"/concerns/{urgent.pk}/$"))
    expect(page.locator("#nav-notifications")).to_have_text("Notifications 1 unread")
    mine = Notification.objects.filter(recipient=dsl, in_app=True)
    assert mine.get(concern=urgent).read_at is not None
    assert mine.get(concern=routine).read_at is None

    # All at once, by keyboard.
    page.goto("/notifications/")
    page.get_by_role("button", name="Mark all as read").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 notification marked as read.")).to_be_visible()
    expect(page.locator("#nav-notifications")).to_have_text("Notifications")
    expect(page.locator("[data-row]", has_text="Unread")).to_have_count(0)

    # Email choices: the urgent kinds are not offered; a choice is kept.
    page.get_by_role("link", name="Choose which updates you are emailed about").click()
    page.wait_for_url(re.compile(r"/notifications/email/$"))
    _fits(page, page.url)
    outcome = page.get_by_label("The outcome of your referral")
    expect(outcome).to_be_checked()
    outcome.uncheck()
    page.get_by_role("button", name="Save your choices").click()
    expect(page.get_by_text("Your email choices are saved.")).to_be_visible()
    expect(page.get_by_label("The outcome of your referral")).not_to_be_checked()
    assert NotificationPreference.objects.get(user=dsl, kind="outcome").email is False
    assert page.get_by_label("A concern that needs looking at straight away").count() == 0
