"""Issue 14's journey in Debian's Chromium, end to end: a teacher must choose an urgency; a
"Straight away" concern puts an email in the outbox for every safeguarding lead of the school at
once and a notice on their notifications page; the lead opens it from there (it is read),
refers from it with the form pre-filled, answers the front door's question from "Questions
waiting" (it goes), and reads the outcome from "Outcomes to read" (it goes). Every page passes
axe with every rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from referrals.casework.triage import (
    referral_acknowledge,
    referral_claim,
    referral_decide,
    referral_request_information,
)
from referrals.concerns.services import concern_review
from referrals.models import Concern, Notification, Referral
from tests import factories
from tests.conftest import World, _member, axe_violations, sign_in, sign_out

pytestmark = pytest.mark.browser

STRAIGHT_AWAY = "Straight away: the child may be at risk of harm today"


def _clean(page: Any) -> None:
    assert axe_violations(page) == [], page.url


def _card(page: Any, title: str) -> Any:
    return page.locator("[data-card]", has_text=title)


def test_a_straight_away_concern_reaches_every_lead_and_comes_back_answered(
    page: Any, world: World, teacher: Any, dsl: Any, social_worker: Any
) -> None:
    deputy = _member(world.riverside, "deputy_dsl")
    amy = factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Amy", last_name="Example"
    )

    # The teacher cannot send it without saying how urgent it is.
    sign_in(page, teacher)
    page.goto(f"/children/{amy.pk}/concerns/new/")
    page.get_by_role("group", name="Did this happen today?").get_by_label("Yes").check()
    page.get_by_label("What happened?").fill("Burn marks on both hands; says dad did it.")
    page.get_by_role("button", name="Submit concern").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select how urgent this is")
    _clean(page)
    assert not Concern.objects.exists()
    page.get_by_label(STRAIGHT_AWAY).check()
    page.get_by_role("button", name="Submit concern").click()
    page.wait_for_url(re.compile(r"/concerns/\d+/$"))
    concern = Concern.objects.get()

    # At once: an email in the outbox for each lead, and a notice in the app.
    emails = Notification.objects.filter(concern=concern, email_status="pending")
    assert sorted(emails.values_list("recipient__email", flat=True)) == sorted(
        [dsl.email, deputy.email]
    )
    assert all("Amy" not in n.subject + n.body for n in Notification.objects.all())
    sign_out(page)

    # The lead opens it from the notifications page; it is read.
    sign_in(page, dsl)
    page.locator("#nav-notifications").click()
    notice = page.locator("[data-row]", has_text="A concern needs you straight away")
    expect(notice).to_contain_text("Unread")
    _clean(page)
    notice.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/concerns/{concern.pk}/$"))
    mine = Notification.objects.get(recipient=dsl, concern=concern, in_app=True)
    assert mine.read_at is not None
    _clean(page)

    # Reviewed to refer, the referral opens pre-filled from the concern.
    concern_review(concern=concern, user=dsl, outcome="refer", rationale="Injury and disclosure.")
    page.reload()
    page.get_by_role("button", name="Make a referral").click()
    expect(page.get_by_label(STRAIGHT_AWAY)).to_be_checked()
    expect(page.get_by_label("What worries you?")).to_have_value(
        re.compile("Burn marks on both hands")
    )
    _clean(page)
    page.get_by_label("What do you want to happen?").fill("A strategy discussion today.")
    page.get_by_label("Yes, consent was given").check()
    page.get_by_label("Your phone number").fill("01632 960123")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/referrals/check/$"))
    _clean(page)
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(re.compile(r"/referrals/\d+/$"))
    referral = Referral.objects.get()
    assert referral.urgency == "immediate"

    # The front door asks a question: it waits on the lead's home until answered.
    referral_claim(referral=referral, user=social_worker)
    referral_acknowledge(referral=referral, user=social_worker)
    referral_request_information(
        referral=referral, user=social_worker, message="Are there siblings at home?"
    )
    page.goto("/")
    _clean(page)
    questions = _card(page, "Questions waiting")
    expect(questions.get_by_role("link")).to_contain_text("1")
    questions.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/referrals/mine/\?waiting=question$"))
    _clean(page)
    expect(page.locator("[data-row]")).to_have_count(1)
    page.locator("[data-row]").get_by_role("link", name=f"#{referral.pk}").click()
    page.get_by_label("Your answer").fill("A brother, aged 4.")
    page.get_by_role("button", name="Send your answer").click()
    page.goto("/")
    expect(_card(page, "Questions waiting")).to_contain_text("0")
    expect(_card(page, "Questions waiting").get_by_role("link")).to_have_count(0)

    # The outcome waits under "Outcomes to read" until the lead opens it.
    referral.refresh_from_db()
    referral_decide(
        referral=referral,
        user=social_worker,
        outcome="s47",
        rationale="Reasonable cause to suspect significant harm.",
        feedback="A strategy discussion is being held today.",
    )
    page.reload()
    outcomes = _card(page, "Outcomes to read")
    expect(outcomes.get_by_role("link")).to_contain_text("1")
    outcomes.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/referrals/mine/\?outcome=unread$"))
    expect(page.locator("[data-row]")).to_have_count(1)
    page.locator("[data-row]").get_by_role("link", name=f"#{referral.pk}").click()
    feedback = page.locator(".govuk-summary-list__row", has_text="Feedback for the referrer")
    expect(feedback).to_contain_text("A strategy discussion is being held today.")
    _clean(page)
    page.goto("/")
    expect(_card(page, "Outcomes to read")).to_contain_text("0")
    # Every notice about the referral was read by opening it.
    assert not Notification.objects.filter(
        recipient=dsl, in_app=True, read_at__isnull=True, referral=referral
    ).exists()
