"""Find a child (issue 15): by name with spelling slips, date of birth, NHS number or UPN, among
the children the person may see only, posted and redirected to results named by an opaque key,
audited as a search by the kinds of term, never the terms."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from referrals.audit import audit_readers_of
from referrals.children.selectors import ChildSearch, child_search_for_user
from referrals.core.validators import upn_check_letter
from referrals.models import AuditAction, AuditEvent, Child
from tests import factories
from tests.conftest import World, _member, signed_in

pytestmark = pytest.mark.django_db

SEARCH = "/children/search/"
BORN = datetime.date(2016, 3, 27)
NHS_NUMBER = "9434765919"
UPN = upn_check_letter("801200001001") + "801200001001"


@pytest.fixture
def amy(world: World) -> Child:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside,
        first_name="Amy",
        last_name="Example",
        date_of_birth=BORN,
        nhs_number=NHS_NUMBER,
        upn=UPN,
    )


def _post(client: Client, **terms: str) -> Any:
    born = {"dob_day": "", "dob_month": "", "dob_year": ""}
    return client.post(SEARCH, {"first_name": "", "last_name": "", **born, **terms})


def _dob(day: datetime.date) -> dict[str, str]:
    return {"dob_day": str(day.day), "dob_month": str(day.month), "dob_year": str(day.year)}


def _search(client: Client, **terms: str) -> Any:
    """Post a search and follow its redirect to the results."""
    posted = _post(client, **terms)
    assert posted.status_code == 302, posted.content.decode()[:500]
    return client.get(posted["Location"])


def _found_ids(response: Any) -> list[int]:
    return [result.child.pk for result in response.context["found"]]


def test_a_misspelled_surname_and_the_date_of_birth_find_the_child(
    dsl: Any, amy: Child, world: World
) -> None:
    # Same surname, another date of birth: not the child searched for.
    factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Ben", last_name="Example"
    )
    found = child_search_for_user(
        user=dsl, search=ChildSearch(last_name="Exmaple", date_of_birth=BORN)
    )
    assert [result.child for result in found] == [amy]
    assert found[0].why == "Same date of birth, similar surname"


def test_the_search_is_posted_then_read_back_by_a_key_that_says_nothing(
    client: Client, dsl: Any, amy: Child
) -> None:
    signed_in(client, dsl)
    posted = _post(client, first_name="Amy", last_name="Exmaple", **_dob(BORN))
    location = posted["Location"]
    assert location.startswith(f"{SEARCH}?results=")
    for term in ("Amy", "Exmaple", "2016", "27"):
        assert term not in location
    results = client.get(location)
    assert results.status_code == 200
    assert _found_ids(results) == [amy.pk]
    page = results.content.decode()
    assert f'href="/children/{amy.pk}/"' in page  # each result opens the chronology
    assert 'id="results" tabindex="-1" autofocus' in page  # focus moves to the results
    assert "1 child found" in page


def test_a_key_that_is_not_the_sessions_latest_shows_only_the_form(
    client: Client, dsl: Any, amy: Child
) -> None:
    signed_in(client, dsl)
    _search(client, last_name="Example", **_dob(BORN))
    before = AuditEvent.objects.count()
    response = client.get(f"{SEARCH}?results=not-the-key")
    assert response.status_code == 200
    assert "found" not in response.context
    assert AuditEvent.objects.count() == before
    # Another person's session knows nothing of this one's search.
    other = signed_in(Client(), factories.UserFactory.create())
    assert "found" not in other.get(f"{SEARCH}?results=not-the-key").context


def test_the_search_is_audited_by_the_kinds_of_term_never_the_terms(
    client: Client, dsl: Any, amy: Child
) -> None:
    signed_in(client, dsl)
    _search(client, first_name="Amy", last_name="Exmaple", **_dob(BORN), nhs_number=NHS_NUMBER)
    event = AuditEvent.objects.get(
        actor=dsl, action=AuditAction.LIST, target_type="referrals.child"
    )
    assert (event.target_id, event.target_ids) == ("", [amy.pk])  # a list: one event (issue 17)
    assert event.data == {"search": ["name", "date_of_birth", "nhs_number"], "results": 1}
    written = json.dumps(list(AuditEvent.objects.values("data", "target_id", "target_ids")))
    for term in ("Amy", "Exmaple", "2016-03-27", NHS_NUMBER):
        assert term not in written


def test_a_search_that_finds_nobody_is_still_on_the_record(client: Client, dsl: Any) -> None:
    signed_in(client, dsl)
    response = _search(client, last_name="Nobody", **_dob(BORN))
    assert "No child found" in response.content.decode()
    event = AuditEvent.objects.get(actor=dsl, action=AuditAction.LIST)
    assert (event.target_type, event.target_id) == ("agencies.user", str(dsl.pk))
    assert event.data == {"search": ["name", "date_of_birth"], "results": 0}


@pytest.mark.parametrize(
    "terms",
    [
        {"nhs_number": "943 476 5919"},
        {"upn": UPN.lower()},
        _dob(BORN),
        {"first_name": "Amy"},
        {"last_name": "Example"},
        {"first_name": "Ammy", "last_name": "Example"},
        {"last_name": "Smith", "upn": UPN},
    ],
    ids=["nhs", "upn", "dob", "first", "last", "slip", "upn-decides"],
)
def test_any_one_thing_people_know_finds_the_child(
    client: Client, dsl: Any, amy: Child, terms: dict[str, str]
) -> None:
    signed_in(client, dsl)
    assert _found_ids(_search(client, **terms))[:1] == [amy.pk]


def test_an_exact_search_needs_every_term_to_agree(dsl: Any, amy: Child) -> None:
    search = ChildSearch(date_of_birth=BORN, nhs_number="9999999999")
    assert child_search_for_user(user=dsl, search=search) == []
    found = child_search_for_user(user=dsl, search=ChildSearch(date_of_birth=BORN, upn=UPN))
    assert [(f.child, f.why) for f in found] == [(amy, "Same date of birth and UPN")]


@pytest.mark.parametrize("person", ["other_school_dsl", "outsider", "southvale_dsl"])
def test_it_never_finds_a_child_the_person_may_not_see(
    client: Client, request: pytest.FixtureRequest, amy: Child, person: str
) -> None:
    user = request.getfixturevalue(person)
    signed_in(client, user)
    for terms in ({"last_name": "Example", **_dob(BORN)}, {"nhs_number": NHS_NUMBER}):
        response = _search(client, **terms)
        assert _found_ids(response) == []
        assert "Amy" not in response.content.decode()
    assert not audit_readers_of(target_type="referrals.child", target_id=amy.pk).exists()


def test_social_care_finds_a_child_its_authority_received_a_referral_about(
    client: Client, world: World, social_worker: Any, amy: Child
) -> None:
    signed_in(client, social_worker)
    assert _found_ids(_search(client, last_name="Exmaple", **_dob(BORN))) == []
    factories.SubmittedReferralFactory.create(
        child=amy, referring_agency=world.riverside, team=world.front_door
    )
    assert _found_ids(_search(client, last_name="Exmaple", **_dob(BORN))) == [amy.pk]


@pytest.mark.parametrize(
    ("terms", "error"),
    [
        ({}, "Enter a name, date of birth, NHS number or UPN"),
        ({"nhs_number": "1234567890"}, "Enter a valid 10-digit NHS number"),
        ({"upn": "A12345678901Z"}, "Enter a valid 13-character UPN"),
        ({"dob_day": "31", "dob_month": "2", "dob_year": "2016"}, "must be a real date"),
    ],
)
def test_a_search_that_cannot_run_says_why_in_govuk_words(
    client: Client, dsl: Any, terms: dict[str, str], error: str
) -> None:
    signed_in(client, dsl)
    response = _post(client, **terms)
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert error in page
    assert not AuditEvent.objects.filter(actor=dsl, action=AuditAction.LIST).exists()


def test_the_query_count_does_not_grow_with_the_results(
    client: Client, dsl: Any, world: World
) -> None:
    signed_in(client, dsl)

    def queries(children: int) -> int:
        factories.ChildFactory.create_batch(
            children, created_by_agency=world.riverside, date_of_birth=BORN
        )
        location = _post(client, **_dob(BORN))["Location"]
        with CaptureQueriesContext(connection) as captured:
            response = client.get(location)
        assert len(response.context["found"]) == min(Child.objects.count(), 20)
        return len(captured)

    assert queries(2) == queries(18)


@pytest.mark.parametrize(
    ("agency", "role", "offered"),
    [
        ("riverside", "staff", True),
        ("riverside", "dsl", True),
        ("north_csc", "service_manager", True),
        ("health", "partner_viewer", True),
        ("riverside", "agency_admin", False),
    ],
)
def test_find_a_child_is_offered_to_everyone_who_may_see_children(
    client: Client, world: World, agency: str, role: str, offered: bool
) -> None:
    signed_in(client, _member(getattr(world, agency), role))
    nav = client.get("/").content.decode().split("</nav>")[0]
    assert (">Find a child</a>" in nav) is offered
    assert client.get(SEARCH).status_code == (200 if offered else 403)
