"""Issue 14, homes that lead to work, in Debian's Chromium: the DSL follows "Questions waiting"
from the home page to the list of exactly those referrals; every role's home page and every list
a card opens pass axe with no violation at all, and the home page reflows at 320 px."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from referrals.casework.sharing import referral_share
from referrals.casework.triage import referral_acknowledge, referral_request_information
from referrals.models import Draft, Escalation, Notification, Referral
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser


def _accessible(page: Any) -> None:
    assert axe_violations(page) == [], page.url


def _home_fits(page: Any) -> None:
    """The home page passes axe, and at 320 px wide nothing scrolls sideways."""
    page.goto("/")
    _accessible(page)
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 800})


def _asked(world: World, dsl: Any, social_worker: Any) -> Referral:
    """A referral from Riverside that the front door asked a question about."""
    referral = referral_acknowledge(
        referral=factories.referral_sent(agency=world.riverside, referrer=dsl), user=social_worker
    )
    return referral_request_information(
        referral=referral, user=social_worker, message="Who lives at home?"
    )


def test_the_dsl_follows_questions_waiting_to_the_referrals_asked_about(
    page: Any, world: World, dsl: Any, teacher: Any, social_worker: Any
) -> None:
    asked = _asked(world, dsl, social_worker)
    factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    decided = factories.DecidedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    factories.DecisionFactory.create(referral=decided)
    factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    Draft.objects.create(
        owner=dsl, agency=world.riverside, child=child, kind=Draft.Kind.CONCERN, payload={}
    )
    sign_in(page, dsl)
    _home_fits(page)
    page.get_by_role("link", name="1 Questions waiting").click()
    page.wait_for_url(re.compile(r"/referrals/mine/\?waiting=question$"))
    expect(page.get_by_role("heading", name="Questions waiting", level=1)).to_be_visible()
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{asked.pk}")
    expect(rows.first).to_contain_text("Information requested")
    expect(page.get_by_role("button", name="Make a referral")).to_be_visible()
    _accessible(page)
    for url in (
        "/concerns/?status=new",
        "/concerns/",
        "/referrals/mine/?outcome=unread",
        "/referrals/mine/?waiting=outcome",
        "/drafts/",
    ):
        page.goto(url)
        expect(page.locator("[data-row]").first).to_be_visible()
        _accessible(page)


def _a_teachers_lists(world: World, user: Any) -> list[str]:
    factories.ConcernFactory.create(agency=world.riverside, raised_by=user)
    return ["/concerns/?mine=1", "/referrals/mine/"]


def _received(world: World, **extra: Any) -> Referral:
    return factories.AcknowledgedReferralFactory.create(
        referring_agency=world.riverside, team=world.front_door, **extra
    )


def _a_social_workers_lists(world: World, user: Any) -> list[str]:
    _received(world, owner=user)
    _received(world, owner=None)
    return ["/queue/?owner=mine", "/queue/?owner=unassigned"]


def _a_managers_lists(world: World, user: Any) -> list[str]:
    past = timezone.now() - datetime.timedelta(hours=2)
    late = _received(world, owner=None, decision_due_at=past, escalation_level=1)
    escalation = Escalation.objects.create(referral=late, clock="decide", level=1, due_at=past)
    digest = Notification.objects.create(
        recipient=user,
        kind="escalation",
        subject="Escalation",
        body="Escalated.",
        digest_key="sweep:demo",
        digest_count=1,
    )
    digest.escalations.add(escalation)
    return ["/queue/?overdue=1", "/queue/?escalated=me", "/queue/?owner=unassigned"]


def _a_partners_lists(world: World, user: Any) -> list[str]:
    shared = _received(world)
    sharer = factories.UserFactory.create()
    factories.MembershipFactory.create(
        user=sharer, agency=world.north_csc, team=world.front_door, role="social_worker"
    )
    referral_share(
        referral=shared,
        user=sharer,
        agency=world.health,
        reason="Strategy discussion.",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    return ["/referrals/mine/?shared=1"]


@pytest.mark.parametrize(
    ("role", "lists"),
    [
        ("teacher", _a_teachers_lists),
        ("social_worker", _a_social_workers_lists),
        ("team_manager", _a_managers_lists),
        ("partner", _a_partners_lists),
    ],
)
def test_each_roles_home_and_the_lists_it_opens_pass_axe(
    page: Any, world: World, request: pytest.FixtureRequest, role: str, lists: Any
) -> None:
    user = request.getfixturevalue(role)
    urls = lists(world, user)
    sign_in(page, user)
    _home_fits(page)
    for url in urls:
        page.goto(url)
        _accessible(page)
