"""Issue 15, phones (WCAG 1.4.10 reflow): every page each demo role can reach from the home page
fits 320 and 375 px without the page scrolling sideways, and passes axe with every rule.

The demo data is seeded once and every role is crawled in one test: the live server empties the
database after each test, and seeding is the slow part. The crawl is breadth first over the
same-origin GET links of each page, deduplicated by path with ids normalised (`/referrals/1/` and
`/referrals/2/` are one page), never following sign-out, the admin, files or exports.
"""

from __future__ import annotations

import io
import re
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import override_settings
from playwright.sync_api import expect

from agencies.models import User
from referrals.models import Referral
from tests import factories
from tests.conftest import PASSWORD, World, axe_violations, sign_in

pytestmark = pytest.mark.browser

# One person per role in the demo: staff, a school's and a partner agency's safeguarding lead,
# a front-door social worker, its manager, and an agency admin.
ROLES = [
    "teacher@riverside.example",
    "dsl@riverside.example",
    "nurse@health.example",
    "sw@northshire.example",
    "manager@northshire.example",
    "admin@northshire.example",
]
WIDTHS = (320, 375)
PAGES_PER_ROLE = 40
# Not pages to read: signing out, the admin, file downloads, exports, the API.
SKIP = re.compile(r"^/(accounts/logout|admin|files|api|static|media)/|export|\.(csv|pdf)$|/pdf/")
STICKING_OUT = """(width) => Array.from(document.body.querySelectorAll('*'))
    .filter((e) => e.getBoundingClientRect().right > width + 0.5
        && !Array.from(e.children).some((c) => c.getBoundingClientRect().right > width + 0.5))
    .slice(0, 3)
    .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (e.classList.length ? '.' + Array.from(e.classList).join('.') : ''))"""
LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
    .filter((a) => !a.hasAttribute('download'))
    .map((a) => a.href)"""


def _key(path: str) -> str:
    """A page's path with its ids normalised, so every referral's page is crawled once."""
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


def _too_wide(page: Any) -> list[str]:
    """The widths at which the page scrolls sideways: how wide it is there, and the innermost
    elements that stick out, so a failure says what to fix."""
    wide = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            culprits = page.evaluate(STICKING_OUT, width)
            wide.append(f"{scroll_width} px wide at {width}: {', '.join(culprits)}")
    return wide


def _crawl(page: Any, origin: str) -> tuple[list[str], list[str]]:
    """Visit every page reachable from home, breadth first; return the paths crawled and what
    failed on them."""
    queue: deque[str] = deque(["/"])
    seen = {_key("/")}
    crawled: list[str] = []
    failures: list[str] = []
    while queue and len(crawled) < PAGES_PER_ROLE:
        path = queue.popleft()
        response = page.goto(path)
        crawled.append(path)
        if response is None or response.status >= 400:
            failures.append(f"{path}: HTTP {response.status if response else 'no response'}")
            continue
        failures.extend(f"{path}: {wide}" for wide in _too_wide(page))
        violations = axe_violations(page)
        if violations:
            failures.append(f"{path}: axe {violations}")
        for href in page.evaluate(LINKS):
            url = urlsplit(href)
            if f"{url.scheme}://{url.netloc}" != origin or SKIP.search(url.path):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if _key(url.path) not in seen:
                seen.add(_key(url.path))
                queue.append(target)
    return crawled, failures


def test_every_page_each_demo_role_reaches_reflows_at_320_and_375(
    browser: Any, live_server: Any
) -> None:
    with override_settings(DEMO_MODE=True):
        call_command("seed_demo", stdout=io.StringIO())
    report: dict[str, list[str]] = {}
    failures: list[str] = []
    for email in ROLES:
        user = User.objects.get(email=email)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            sign_in(page, user)
            crawled, failed = _crawl(page, live_server.url)
        finally:
            context.close()
        report[email] = crawled
        failures.extend(f"{email} {failure}" for failure in failed)
    pages = "\n".join(f"{email}: {', '.join(paths)}" for email, paths in report.items())
    assert failures == [], "\n".join(failures) + "\n\nPages crawled:\n" + pages


def _queue_on_a_phone(page: Any, world: World, dsl: Any, social_worker: Any) -> Referral:
    referral = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    sign_in(page, social_worker)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/queue/")
    return referral


def _ax_names(page: Any, selector: str, role: str) -> list[str]:
    """The names of the nodes in this role in and under the element, as Chromium's own
    accessibility tree (what a screen reader is given) has them."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    found = cdp.send("Accessibility.queryAXTree", {"nodeId": node, "role": role})["nodes"]
    cdp.detach()
    return [each["name"]["value"] for each in found if not each.get("ignored")]


def test_the_queue_stacks_on_a_phone_deadline_and_status_first_and_stays_a_table(
    page: Any, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _queue_on_a_phone(page, world, dsl, social_worker)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    row = page.locator(f'#queue-rows [data-referral="{referral.pk}"]')

    def top(label: str) -> float:
        return row.locator(f'[data-label="{label}"]').bounding_box()["y"]

    assert top("Deadline") < top("Status") < top("Referral") < top("Child") < top("Owner")
    # Each line is led by its column's name, drawn from data-label; the header row is hidden.
    before = "getComputedStyle(document.querySelector('[data-label=Deadline]'), '::before').content"
    assert "Deadline" in page.evaluate(before)
    assert page.locator("#queue-table thead").bounding_box()["height"] <= 1
    # Still a table to a screen reader: Chromium's accessibility tree keeps its roles.
    assert len(_ax_names(page, "#queue-table", "table")) == 1
    assert len(_ax_names(page, "#queue-table", "columnheader")) == 8
    assert len(_ax_names(page, "#queue-table", "row")) == 2
    cells = _ax_names(page, "#queue-table", "cell")
    assert len(cells) == 8
    # ... and the names drawn before the cells are not read as well as the headers.
    assert cells[5].startswith("Acknowledge by"), cells
    assert not [cell for cell in cells if cell.startswith(("Deadline", "Status", "Owner"))]
    assert axe_violations(page) == []


def test_the_menu_folds_behind_a_button_on_a_phone(
    page: Any, world: World, dsl: Any, social_worker: Any
) -> None:
    _queue_on_a_phone(page, world, dsl, social_worker)
    menu = page.get_by_role("button", name="Menu")
    queue_link = page.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="Triage queue"
    )
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(queue_link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(queue_link).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(menu).to_be_hidden()
    expect(queue_link).to_be_visible()


def test_filters_fold_on_a_phone_unless_some_are_applied(
    page: Any, world: World, dsl: Any, social_worker: Any
) -> None:
    _queue_on_a_phone(page, world, dsl, social_worker)
    filters = page.locator("details.app-filters")
    summary = filters.locator("summary")
    expect(summary).to_have_text("Search and filter the queue")
    expect(filters).not_to_have_attribute("open", "")
    summary.click()
    expect(filters).to_have_attribute("open", "")
    page.goto("/queue/?overdue=1")
    expect(filters).to_have_attribute("open", "")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/queue/")
    expect(filters).to_have_attribute("open", "")
