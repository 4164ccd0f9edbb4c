"""Issue 15, the access log in people's words: who by name (email only for someone with no name),
their agency, and the record as "Referral #13", never `referrals.referral #13`."""

from __future__ import annotations

import re
from typing import Any

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.casework.referrals import referral_create, referral_submit
from referrals.models import Referral
from referrals.web.views.audit import record_label
from tests import factories
from tests.conftest import World, signed_in


def _referral(world: World, dsl: Any) -> Referral:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    concern = factories.ReviewedConcernFactory.create(agency=world.riverside, child=child)
    referral = referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        concerns=[concern],
        urgency="urgent",
        reason="Bruising.",
        consent=Referral.Consent.GIVEN,
    )
    return referral_submit(referral=referral, user=dsl)


def _rows(body: str) -> list[list[str]]:
    """The log's rows, cell by cell, as the page shows them."""
    table = body.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return [
        [
            cell.strip()
            for cell in re.findall(r'<td class="govuk-table__cell"[^>]*>(.*?)</td>', row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def test_it_names_people_their_agency_and_the_record(
    world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _referral(world, dsl)
    nameless = factories.UserFactory.create(
        email="duty@northshire.test", first_name="", last_name=""
    )
    factories.MembershipFactory.create(
        user=nameless, agency=world.north_csc, team=world.front_door, role="social_worker"
    )
    for person in (social_worker, nameless):
        assert signed_in(Client(), person).get(f"/referrals/{referral.pk}/").status_code == 200
    body = signed_in(Client(), dsl).get(f"/referrals/{referral.pk}/access/").content.decode()
    rows = _rows(body)
    seen = {(who, agency, record) for _, who, agency, what, record in rows if what == "Viewed"}
    assert (
        str(social_worker),
        "Northshire Children&#x27;s Services",
        f"Referral #{referral.pk}",
    ) in seen
    assert (
        "duty@northshire.test",
        "Northshire Children&#x27;s Services",
        f"Referral #{referral.pk}",
    ) in seen
    assert social_worker.email not in body
    assert "referrals.referral" not in body
    assert all(agency for _, _, agency, _, _ in rows)  # every row's agency filled


def test_the_childs_log_names_its_concerns_and_referrals_plainly(
    world: World, dsl: Any, team_manager: Any
) -> None:
    referral = _referral(world, dsl)
    concern = referral.concerns.get()
    signed_in(Client(), dsl).get(f"/concerns/{concern.pk}/")
    body = signed_in(Client(), team_manager).get(f"/children/{referral.child_id}/access/")
    records = {row[4] for row in _rows(body.content.decode())}
    assert f"Referral #{referral.pk}" in records
    assert f"Concern #{concern.pk}" in records
    assert not any(record.startswith("referrals.") for record in records)


def test_record_labels_are_words() -> None:
    assert record_label("referrals.referral", "13") == "Referral #13"
    assert record_label("referrals.concern", "4") == "Concern #4"
    assert record_label("referrals.child", "7") == "Child #7"
    assert record_label("agencies.user_session", "2") == "User session #2"


def test_naming_the_agencies_is_one_query_however_many_people(world: World, dsl: Any) -> None:
    referral = _referral(world, dsl)
    reader = signed_in(Client(), dsl)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(f"/referrals/{referral.pk}/access/").status_code == 200
        return len(captured)

    def viewers(count: int) -> None:
        for _ in range(count):
            person = factories.UserFactory.create()
            factories.MembershipFactory.create(
                user=person, agency=world.north_csc, team=world.front_door, role="social_worker"
            )
            signed_in(Client(), person).get(f"/referrals/{referral.pk}/")

    # The clock stands still, so the session's own bookkeeping writes the same each time.
    with time_machine.travel(timezone.now(), tick=False):
        viewers(1)
        queries()
        few = queries()
        viewers(8)
        assert queries() == few
