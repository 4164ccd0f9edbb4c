"""Issue 14 in Debian's Chromium: urgency is a question nobody answers for you, "did this
happen today?" reveals the date only when it did not, a referral made from a reviewed concern
starts with what the concern says, and the pages pass axe with every rule."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from referrals.models import Concern, Draft, Referral
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser

STRAIGHT_AWAY = "Straight away: the child may be at risk of harm today"


@pytest.fixture
def amy(world: World) -> Any:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Amy", last_name="Example"
    )


def test_a_teacher_must_choose_the_urgency_and_the_date_shows_only_when_not_today(
    page: Any, world: World, teacher: Any, amy: Any
) -> None:
    sign_in(page, teacher)
    page.goto(f"/children/{amy.pk}/concerns/new/")
    assert axe_violations(page) == []
    urgency = page.get_by_role("group", name="How urgent is this?")
    for option in urgency.get_by_role("radio").all():
        expect(option).not_to_be_checked()
    expect(urgency.get_by_text("call 999 first")).to_be_visible()
    happened_today = page.get_by_role("group", name="Did this happen today?")
    expect(page.get_by_label("Day", exact=True)).to_be_hidden()

    happened_today.get_by_label("Yes").check()
    page.get_by_label("What happened?").fill("Said he was scared to go home.")
    page.get_by_role("button", name="Submit concern").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link", name="Select how urgent this is")).to_be_visible()
    expect(urgency.locator(".govuk-error-message")).to_contain_text("Select how urgent this is")
    assert axe_violations(page) == []
    assert not Concern.objects.exists()
    summary.get_by_role("link", name="Select how urgent this is").click()
    expect(urgency.get_by_role("radio").first).to_be_focused()

    # "No" reveals the date (the GOV.UK conditional reveal); the time is asked either way.
    expect(page.get_by_label("Day", exact=True)).to_be_hidden()
    happened_today.get_by_label("No").check()
    expect(page.get_by_label("Day", exact=True)).to_be_visible()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    page.get_by_label("Day", exact=True).fill(str(yesterday.day))
    page.get_by_label("Month", exact=True).fill(str(yesterday.month))
    page.get_by_label("Year", exact=True).fill(str(yesterday.year))
    expect(page.get_by_label("What time did it happen? (optional)")).to_have_value("")
    assert axe_violations(page) == []
    urgency.get_by_label("Today", exact=True).check()
    page.get_by_role("button", name="Submit concern").click()
    page.wait_for_url(re.compile(r"/concerns/\d+/$"))
    concern = Concern.objects.get()
    assert concern.urgency == "urgent"
    assert timezone.localtime(concern.observed_at).date() == yesterday
    # Closed, not deleted (so a late autosave cannot bring it back): none is open.
    assert not Draft.objects.filter(closed_at__isnull=True).exists()


def test_a_referral_from_a_reviewed_concern_starts_with_what_it_says(
    page: Any, world: World, teacher: Any, dsl: Any, amy: Any
) -> None:
    concern = factories.ReviewedConcernFactory.create(
        agency=world.riverside,
        child=amy,
        raised_by=teacher,
        reviewed_by=dsl,
        urgency="immediate",
        categories=["sexual", "online_harm"],
        what_happened="She showed me messages from an adult asking to meet.",
    )
    sign_in(page, dsl)
    page.goto(f"/concerns/{concern.pk}/")
    page.get_by_role("button", name="Make a referral").click()
    page.wait_for_url(re.compile(rf"/children/{amy.pk}/referrals/new/\?concern={concern.pk}$"))
    expect(page.get_by_label(re.compile(rf"Concern #{concern.pk}"))).to_be_checked()
    expect(page.get_by_label(STRAIGHT_AWAY)).to_be_checked()
    expect(page.get_by_label("Category of abuse (optional)")).to_have_value("sexual")
    expect(page.get_by_label("Online harm")).to_be_checked()
    expect(page.get_by_label("What worries you?")).to_have_value(concern.what_happened)
    assert axe_violations(page) == []

    # All of it editable; what is typed is saved as it goes, and Continue carries it all.
    page.get_by_label("What worries you?").fill(f"{concern.what_happened} He knows her school.")
    page.get_by_label("What do you want to happen?").fill("A strategy discussion today.")
    page.get_by_label("Consent was not sought").check()
    page.get_by_label("If consent was refused or not sought, why?").fill(
        "Telling the family could put her at greater risk."
    )
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved")
    autosaved = Draft.objects.get().version
    page.get_by_label("Your phone number").fill("01632 960999")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/referrals/check/$"))
    assert Draft.objects.get().version > autosaved
    expect(page.get_by_text(STRAIGHT_AWAY)).to_be_visible()
    expect(page.get_by_text("He knows her school.")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(re.compile(r"/referrals/\d+/$"))
    referral = Referral.objects.get()
    assert (referral.urgency, referral.category, referral.factors) == (
        "immediate",
        "sexual",
        ["online_harm"],
    )
    assert referral.reason.endswith("He knows her school.")
