"""Issue 4 in Debian's Chromium: the front door claims, acknowledges, asks, hears back and
decides; the school reads the outcome; another authority gets 404 on every URL of it; the
managers' pages; no page has a serious accessibility violation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from referrals.casework.triage import referral_acknowledge
from referrals.models import AuditAction, AuditEvent, Notification, Referral
from tests import factories
from tests.conftest import World, axe_violations, sign_in, sign_out

pytestmark = pytest.mark.browser


def accessible(page: Any) -> None:
    assert axe_violations(page) == [], page.url


def _sent(world: World, dsl: Any) -> Referral:
    """A referral Riverside's DSL sent about Amy, waiting in Northshire's Front Door queue."""
    return factories.referral_sent(
        agency=world.riverside,
        referrer=dsl,
        reason="Bruising on her arm and a disclosure about dad.",
        consent=Referral.Consent.NOT_SOUGHT,
        consent_reason="Asking could put her at greater risk.",
    )


def test_the_front_door_works_a_referral_and_the_school_reads_the_outcome(
    page: Any, world: World, dsl: Any, social_worker: Any, outsider: Any
) -> None:
    referral = _sent(world, dsl)
    detail = f"/referrals/{referral.pk}/"

    # The social worker finds it in the queue; the queue refreshes in place, keeping focus.
    sign_in(page, social_worker)
    page.get_by_role("link", name="Triage queue").click()
    page.wait_for_url(re.compile(r"/queue/$"))
    accessible(page)
    row = page.locator(f'#queue-rows [data-referral="{referral.pk}"]')
    expect(row).to_contain_text("Amy Example")
    expect(row).to_contain_text("Riverside Primary School")
    expect(row).to_contain_text(re.compile(r"Acknowledge by .+ \(in \d+ (minute|hour|day)s?\)"))
    link = page.get_by_role("link", name=f"#{referral.pk}")
    link.focus()
    page.evaluate("document.getElementById('queue-rows').dataset.stale = 'yes'")
    page.evaluate("document.querySelector('[data-queue-refresh]').click()")
    expect(page.locator("#queue-rows[data-stale]")).to_have_count(0)
    assert page.evaluate("document.activeElement.getAttribute('href')") == detail
    link = page.get_by_role("link", name=f"#{referral.pk}")
    link.click()
    page.wait_for_url(re.compile(rf"{detail}$"))
    accessible(page)

    # Claim, then acknowledge: the school is told.
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text(f"You own referral #{referral.pk} now.")).to_be_visible()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("The referrer has been told.")).to_be_visible()
    accessible(page)
    assert Notification.objects.filter(
        recipient=dsl, referral=referral, subject="Your referral has been received"
    ).exists()

    # Ask for more information, and keep a note the school never sees.
    page.get_by_label("What do you need to know?").fill("Who lives at home with Amy?")
    page.get_by_role("button", name="Ask the referrer").click()
    expect(page.get_by_text("Your question was sent to the referrer.")).to_be_visible()
    page.get_by_label("Internal note").fill("Sibling known to the team in 2024.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Only your authority's team can see it.")).to_be_visible()
    accessible(page)
    sign_out(page)

    # The school's DSL answers from the referral page.
    sign_in(page, dsl)
    page.get_by_role("link", name="Referrals", exact=True).click()
    page.get_by_role("link", name=f"#{referral.pk}").click()
    expect(page.locator(".app-thread").first).to_contain_text("Who lives at home with Amy?")
    assert page.get_by_text("Sibling known to the team").count() == 0
    page.get_by_role("button", name="Send your answer").click()
    expect(page.get_by_role("link", name="Enter your answer")).to_be_visible()
    accessible(page)
    page.get_by_label("Your answer").fill("Mum, her partner and a baby brother.")
    page.get_by_role("button", name="Send your answer").click()
    expect(page.get_by_text("Your answer was sent to the front door.")).to_be_visible()
    sign_out(page)

    # The social worker reads the answer and decides, with feedback.
    sign_in(page, social_worker)
    page.goto(detail)
    expect(page.locator(".app-thread").first).to_contain_text("Mum, her partner and a baby")
    expect(page.locator("#referral-summary")).to_contain_text("Information received")
    page.get_by_role("link", name="The child's chronology").click()
    accessible(page)
    page.goto(detail)
    page.get_by_role("button", name="Decide").click()
    page.wait_for_url(re.compile(r"/decide/$"))
    accessible(page)
    page.get_by_role("button", name="Save decision and send feedback").click()
    expect(page.get_by_role("link", name="Select the response")).to_be_visible()
    accessible(page)
    page.get_by_label("Section 47 strategy discussion").check()
    page.get_by_label("Why? (for your authority's record)").fill(
        "Disclosure of physical harm by a household member."
    )
    page.get_by_label("Feedback for the referrer").fill(
        "A strategy discussion is being held today. Please keep Amy in school."
    )
    page.get_by_label("Domestic abuse").check()
    page.get_by_role("button", name="Save decision and send feedback").click()
    page.wait_for_url(re.compile(rf"{detail}$"))
    expect(page.get_by_text("The referrer has been sent your feedback.")).to_be_visible()
    accessible(page)
    sign_out(page)

    # The school's DSL sees the outcome and the feedback, not the reasons.
    sign_in(page, dsl)
    page.goto(detail)
    outcome = page.locator("#outcome + .govuk-summary-list")
    expect(outcome).to_contain_text("Section 47 strategy discussion")
    expect(outcome).to_contain_text("Please keep Amy in school.")
    assert page.get_by_text("household member").count() == 0
    accessible(page)
    sign_out(page)

    # Another authority's social worker gets 404 on every URL of it, and sees no name.
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DECIDED
    urls = [
        detail,
        f"/children/{referral.child_id}/",
        *(
            f"{detail}{action}/"
            for action in (
                "claim",
                "acknowledge",
                "information-request",
                "reply",
                "notes",
                "decide",
                "transfer",
                "share",
                "reassign",
                "withdraw",
                "files",
            )
        ),
    ]
    sign_in(page, outsider)
    for url in urls:
        response = page.goto(url)
        assert response.status == 404, url
        assert page.get_by_text("Amy").count() == 0
    sign_out(page)
    assert not AuditEvent.objects.filter(actor=outsider, action=AuditAction.VIEW).exists()
    assert AuditEvent.objects.filter(actor=outsider, action=AuditAction.DENIED).count() == len(urls)


def test_a_manager_shares_reassigns_and_reads_the_dashboard(
    page: Any, world: World, dsl: Any, social_worker: Any, team_manager: Any
) -> None:
    referral = _sent(world, dsl)
    referral_acknowledge(referral=referral, user=social_worker)
    detail = f"/referrals/{referral.pk}/"
    sign_in(page, team_manager)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("table", name=re.compile("Referrals received per day"))).to_be_visible()
    accessible(page)

    page.goto(detail)
    page.get_by_role("button", name="Share with a partner agency").click()
    accessible(page)
    page.get_by_label("Which agency?").select_option(label="Northshire Police (Northshire)")
    page.get_by_label("Why are you sharing it?").fill("Strategy discussion with the police.")
    page.get_by_role("button", name="Share referral").click()
    expect(page.get_by_text("is shared with Northshire Police")).to_be_visible()
    page.get_by_role("button", name="Stop sharing with Northshire Police").click()
    expect(page.get_by_text("can no longer see referral")).to_be_visible()

    page.get_by_role("button", name="Reassign").click()
    accessible(page)
    page.get_by_label(str(team_manager)).check()
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text(f"is assigned to {team_manager}")).to_be_visible()

    page.get_by_role("button", name="Transfer to another authority").click()
    accessible(page)
    page.get_by_role("button", name="Transfer referral").click()
    expect(
        page.get_by_role("link", name="Select the local authority to transfer to")
    ).to_be_visible()
    accessible(page)
    referral.refresh_from_db()
    assert referral.owner == team_manager
    assert referral.shares.get().revoked_by == team_manager
