"""Issue 9 in Chromium: a lead shares a concern, the pattern reaches the queue, the front door
checks other records of the child and merges, an adult joins the household. Axe on each page."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone

from referrals.children.services import child_create
from referrals.concerns.services import concern_create
from referrals.models import Child, PatternFlag
from referrals.patterns.services import concern_share_with_authority
from tests import factories
from tests.conftest import World, axe_violations, sign_in, sign_out

pytestmark = pytest.mark.browser


def accessible(page: Any) -> None:
    assert axe_violations(page) == []


def _concern(agency: Any, user: Any, child: Child) -> Any:
    return concern_create(
        user=user,
        agency=agency,
        child=child,
        observed_at=timezone.now() - datetime.timedelta(days=3),
        what_happened="Low-level worry.",
    )


def test_a_pattern_reaches_the_front_door_and_records_are_merged(
    page: Any, world: World, dsl: Any, police_officer: Any, partner: Any, social_worker: Any
) -> None:
    child = child_create(
        user=dsl,
        agency=world.riverside,
        first_name="Ava",
        last_name="Green",
        date_of_birth=datetime.date(2014, 6, 1),
        postcode="NS1 1AA",
    )
    police_child = child_create(
        user=police_officer,
        agency=world.police,
        first_name="Ava",
        last_name="Greene",
        date_of_birth=datetime.date(2014, 6, 1),
        postcode="NS1 1AA",
    )
    for agency, user, kid in (
        (world.police, police_officer, child),
        (world.health, partner, child),
    ):
        factories.ConcernFactory.create(agency=agency, child=kid, raised_by=user)
        concern_share_with_authority(
            concern=kid.concerns.get(agency=agency), user=user, reason="For the picture."
        )
    concern = _concern(world.riverside, dsl, child)

    # The school's lead shares its low-level concern from the concern page.
    sign_in(page, dsl)
    page.goto(f"/concerns/{concern.pk}/")
    accessible(page)
    page.get_by_label("Why share this concern with the front door?").fill("Hungry again.")
    page.get_by_role("button", name="Share with the front door").click()
    page.wait_for_url(re.compile(rf"/concerns/{concern.pk}/$"))
    assert page.get_by_text("The concern is shared with the front door.").is_visible()
    flag = PatternFlag.objects.get()

    # Household, from the chronology.
    page.goto(f"/children/{child.pk}/household/new/")
    accessible(page)
    page.get_by_label("First name").fill("Dean")
    page.get_by_label("Last name").fill("Partner")
    page.get_by_label("Partner of a parent").check()
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Link adult").click()
    page.wait_for_url(re.compile(rf"/children/{child.pk}/$"))
    assert page.get_by_text("Adult linked to the child: Partner of a parent").first.is_visible()
    sign_out(page)

    # The front door: the pattern in the queue, then the other record, explained, merged.
    sign_in(page, social_worker)
    page.goto("/queue/")
    accessible(page)
    row = page.locator(f'tr[data-referral="{flag.item_id}"]')
    assert "Pattern" in row.inner_text()
    assert f"Concern #{concern.pk}" in row.inner_text()
    page.goto(f"/referrals/{flag.item_id}/")
    accessible(page)
    assert page.get_by_text("Concerns that make the pattern").is_visible()
    page.goto(f"/children/{child.pk}/matches/")
    accessible(page)
    assert page.get_by_text(
        "Same date of birth, similar surname, same first name, same postcode"
    ).is_visible()
    page.get_by_role("button", name=f"Same child: merge record #{police_child.pk}").click()
    page.wait_for_url(re.compile(rf"/children/{child.pk}/matches/$"))
    accessible(page)
    police_child.refresh_from_db()
    assert police_child.merged_into_id == child.pk
