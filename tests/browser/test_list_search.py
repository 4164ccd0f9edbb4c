"""Issue 15, every list searchable, in Debian's Chromium: a social worker finds a referral in the
queue by the child's name, which no address the browser visits or asks for ever holds; a manager
pages through 500 referrals; every list passes axe with a search done and filters applied."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from referrals.models import Referral
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser

SEARCH = "Search by child's name or number"
APPLY = "Search and apply filters"


def _accessible(page: Any) -> None:
    assert axe_violations(page) == [], page.url


def _child(world: World, first: str, last: str) -> Any:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name=first, last_name=last
    )


def _received(world: World, child: Any, **extra: Any) -> Referral:
    return factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, team=world.front_door, child=child, **extra
    )


def _addresses(page: Any) -> list[str]:
    """Every address the page goes to or asks for from now on (pages, redirects, fetches)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.on("framenavigated", lambda frame: seen.append(frame.url))
    return seen


def _search(page: Any, term: str) -> None:
    page.get_by_label(SEARCH).fill(term)
    page.get_by_role("button", name=APPLY).click()
    page.wait_for_url(re.compile(r"[?&]search=[\w-]+"))


def test_a_social_worker_finds_a_referral_in_the_queue_by_the_childs_name(
    page: Any, world: World, social_worker: Any
) -> None:
    wanted = _received(world, _child(world, "Delphine", "Okonkwo"), urgency="urgent")
    _received(world, _child(world, "Delphine", "Okonkwo"), urgency="standard")
    _received(world, _child(world, "Marcus", "Bell"), urgency="urgent")
    seen = _addresses(page)
    sign_in(page, social_worker)
    page.goto("/queue/")
    expect(page.locator("#queue-rows [data-referral]")).to_have_count(3)
    _search(page, "okonk")
    expect(page.locator("#queue-rows [data-referral]")).to_have_count(2)
    # Narrowed further by a filter that is not personal data, and it is in the address.
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_role("button", name=APPLY).click()
    page.wait_for_url(re.compile(r"urgency=urgent"))
    rows = page.locator("#queue-rows [data-referral]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Delphine Okonkwo")
    expect(rows.first).to_have_attribute("data-referral", str(wanted.pk))
    expect(page.get_by_label(SEARCH)).to_have_value("okonk")
    _accessible(page)
    # The Refresh link re-reads the same search.
    page.evaluate("document.querySelector('[data-queue-refresh]').click()")
    expect(rows).to_have_count(1)
    page.get_by_role("link", name=f"#{wanted.pk}").click()
    page.wait_for_url(re.compile(rf"/referrals/{wanted.pk}/$"))
    page.go_back()
    expect(page.locator("#queue-rows [data-referral]")).to_have_count(1)
    assert "okonk" not in page.url.lower()
    assert seen
    assert not [url for url in seen if "okonk" in url.lower() or "delphine" in url.lower()]


def test_a_manager_pages_through_500_referrals(page: Any, world: World, team_manager: Any) -> None:
    first = _received(world, _child(world, "Lots", "Ofthem"))
    rows = []
    for _ in range(499):
        row = copy.copy(first)
        row.pk = None
        row._state.adding = True
        rows.append(row)
    Referral.objects.bulk_create(rows)
    sign_in(page, team_manager)
    page.goto("/queue/")
    seen: list[str] = []
    pages = 0
    while True:
        shown = page.locator("#queue-rows [data-referral]")
        expect(shown.first).to_be_visible()
        seen += [row.get_attribute("data-referral") for row in shown.all()]
        pages += 1
        following = page.get_by_role("link", name="Next page")
        if not following.count():
            break
        following.click()
        page.wait_for_url(re.compile(r"after="))
        expect(page.locator("[data-list-limit]")).to_contain_text(
            f"Showing referrals {pages * 50 + 1} to"
        )
    assert pages == 10
    assert len(seen) == 500
    assert len(set(seen)) == 500
    assert set(seen) == {str(pk) for pk in Referral.objects.values_list("pk", flat=True)}
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    _accessible(page)


def test_every_list_passes_axe_with_a_search_done_and_filters_applied(
    page: Any, world: World, dsl: Any, teacher: Any
) -> None:
    child = _child(world, "Rosalind", "Achterberg")
    concern = factories.ConcernFactory.create(
        agency=world.riverside, child=child, raised_by=teacher
    )
    referral = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door, child=child
    )
    factories.NotificationFactory.create(
        recipient=dsl, in_app_only=True, concern=concern, subject="A concern"
    )
    seen = _addresses(page)
    sign_in(page, dsl)
    for path, label, value, found in (
        ("/concerns/", "Urgency", "standard", f"#{concern.pk}"),
        ("/referrals/mine/", "Status", "submitted", f"#{referral.pk}"),
        ("/notifications/", "About", "", "A concern"),
    ):
        page.goto(path)
        page.get_by_label(SEARCH).fill("achter")
        if value:
            page.get_by_label(label).select_option(value)
        page.get_by_label("Sort by").select_option("oldest")
        page.get_by_role("button", name=APPLY).click()
        page.wait_for_url(re.compile(r"sort=oldest.*search=|search=.*sort=oldest"))
        expect(page.locator("[data-row]")).to_have_count(1)
        expect(page.locator("[data-row]").first).to_contain_text(found)
        _accessible(page)
    # A date that is not a date: a GOV.UK error, and axe still finds nothing.
    page.get_by_label("Day").first.fill("31")
    page.get_by_label("Month").first.fill("2")
    page.get_by_label("Year").first.fill("2026")
    page.get_by_role("button", name=APPLY).click()
    expect(page.get_by_role("alert")).to_contain_text("The first date must be a real date")
    _accessible(page)
    assert not [url for url in seen if "achter" in url.lower()]
