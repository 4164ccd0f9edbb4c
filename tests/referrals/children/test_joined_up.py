"""One child across agencies: identity matching, merges, the household."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from referrals.casework.referrals import referral_create, referral_submit
from referrals.children.chronology import child_chronology_for_user
from referrals.children.household import household_member_add
from referrals.children.matching import MatchQuery, child_matches
from referrals.children.merge import child_match_reject, child_merge, child_unmerge
from referrals.children.selectors import child_find_for_user
from referrals.core.errors import ApplicationError
from referrals.core.match_keys import fold, similarity
from referrals.models import (
    AuditAction,
    AuditEvent,
    Child,
    ChildMatchDecision,
    Referral,
)
from referrals.patterns.services import concern_share_with_authority
from tests import factories
from tests.conftest import World, signed_in
from tests.referrals.joined_up import NHS, authority_children, record_child

# Identity matching ---------------------------------------------------------------------------


@pytest.fixture
def known(world: World, dsl: Any) -> dict[str, Child]:
    """The authority's children, with look-alikes around each one the tests look for."""
    people = [
        ("john", "John", "Smith", "2015-03-07", "NS1 4AB"),
        ("john_sibling", "James", "Smith", "2013-01-20", "NS1 4AB"),
        ("john_other", "John", "Smith", "2011-10-02", "NS9 9ZZ"),
        ("muhammad", "Muhammad", "Khan", "2016-05-14", "NS2 2CD"),
        ("khan_other", "Imran", "Khan", "2016-05-14", "NS7 1AA"),
        ("amelia", "Amelia", "Smith-Jones", "2014-11-30", "NS3 3EF"),
        ("amelia_other", "Amelia", "Jonas", "2012-02-02", "NS8 8AA"),
        ("priya", "Priya", "Patel", "2017-08-21", "NS4 4GH"),
        ("patel_other", "Anjali", "Patel", "2017-08-21", "NS4 9XX"),
        ("olivia", "Olivia", "Brown", "2012-04-09", "NS5 5JK"),
        ("olivia_other", "Olivia", "Browne", "2010-12-25", "NS6 6LM"),
    ]
    return {
        key: record_child(world.riverside, dsl, first, last, born, postcode=postcode)
        for key, first, last, born, postcode in people
    }


@pytest.mark.parametrize(
    ("first", "last", "born", "postcode", "expected", "words"),
    [
        # A nickname, and the date of birth with day and month swapped.
        ("Jon", "Smith", "2015-07-03", "", "john", "date of birth with day and month swapped"),
        ("Mohammed", "Khan", "2016-05-14", "NS2 2CD", "muhammad", "variant of the same name"),
        ("Amelia", "Jones", "2014-11-30", "", "amelia", "double-barrelled surname"),
        # First and last names the wrong way round.
        ("Patel", "Priya", "2017-08-21", "", "priya", "the other way round"),
        # Spelling slips in both names.
        ("Olivai", "Brwon", "2012-04-09", "NS5 5JK", "olivia", "same postcode"),
    ],
)
def test_messy_names_score_the_right_child_highest(
    known: dict[str, Child],
    world: World,
    first: str,
    last: str,
    born: str,
    postcode: str,
    expected: str,
    words: str,
) -> None:
    query = MatchQuery(first, last, datetime.date.fromisoformat(born), postcode)
    matches = child_matches(children=authority_children(world), query=query)
    assert matches, "no match offered"
    assert matches[0].child == known[expected]
    assert all(m.score < matches[0].score for m in matches[1:])
    assert words in matches[0].explanation.lower()
    assert matches[0].is_likely


def test_the_score_is_explained_in_plain_words(known: dict[str, Child], world: World) -> None:
    query = MatchQuery("John", "Smyth", datetime.date(2015, 3, 7), "NS1 4AB")
    best = child_matches(children=authority_children(world), query=query)[0]
    assert best.child == known["john"]
    assert best.explanation == "Same date of birth, similar surname, same first name, same postcode"


def test_an_nhs_number_decides_before_any_name(world: World, dsl: Any) -> None:
    child = record_child(world.riverside, dsl, "Tom", "Quill", "2015-01-01", nhs_number=NHS)
    query = MatchQuery("Thomas", "Different", None, "", NHS)
    [match] = child_matches(children=authority_children(world), query=query)
    assert (match.child, match.score, match.explanation) == (child, 100, "Same NHS number")


def test_the_trigram_search_agrees_with_pythons_pg_trgm_formula(world: World, dsl: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT similarity(%s, %s)", ["john smith jones", "john jones"])
        (expected,) = cursor.fetchone()
    assert similarity("john smith jones", "john jones") == pytest.approx(expected)
    assert fold("Zoë O'Brien-Smith") == "zoe obrien smith"


def test_same_name_and_birthday_at_different_addresses_are_never_merged_automatically(
    world: World, dsl: Any, police_officer: Any, social_worker: Any
) -> None:
    school = record_child(world.riverside, dsl, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
    police = record_child(
        world.police, police_officer, "Ava", "Green", "2014-06-01", postcode="NS9 9ZZ"
    )
    assert (
        Child.objects.filter(pk__in=[school.pk, police.pk], merged_into__isnull=True).count() == 2
    )
    assert not ChildMatchDecision.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.MERGE).exists()
    # Offered to the authority, with the difference said out loud; decided by a person.
    [match] = child_matches(
        children=authority_children(world), query=MatchQuery.of(school), exclude=[school.pk]
    )
    assert match.child == police
    assert "different postcode" in match.explanation


def test_the_same_nhs_number_links_records_and_says_who(
    world: World, dsl: Any, police_officer: Any
) -> None:
    school = record_child(world.riverside, dsl, "Ava", "Green", "2014-06-01", nhs_number=NHS)
    police = record_child(
        world.police, police_officer, "Eva", "Greene", "2014-01-06", nhs_number=NHS
    )
    police.refresh_from_db()
    assert police.merged_into == school
    decision = ChildMatchDecision.objects.get()
    assert (decision.kept, decision.duplicate, decision.decided_by) == (school, police, None)
    event = AuditEvent.objects.get(action=AuditAction.MERGE)
    assert event.actor is None
    assert event.actor_label == "identity matching (same NHS number)"
    assert event.data["kept"] == school.pk
    assert event.data["reasons"] == ["nhs_number"]


def test_data_entry_only_matches_children_they_may_see(
    world: World, teacher: Any, police_officer: Any, dsl: Any
) -> None:
    record_child(world.police, police_officer, "Kai", "Storm", "2013-02-02", nhs_number=NHS)
    found = child_find_for_user(
        user=teacher,
        first_name="Kai",
        last_name="Storm",
        date_of_birth=datetime.date(2013, 2, 2),
        nhs_number=NHS,
    )
    assert found == []
    mine = record_child(world.riverside, dsl, "Kai", "Storme", "2013-02-02")
    found = child_find_for_user(
        user=teacher, first_name="Kai", last_name="Storm", date_of_birth=None
    )
    assert [m.child for m in found] == [mine]


def test_choosing_an_offered_child_is_audited_with_its_score(
    client: Client, world: World, teacher: Any, dsl: Any
) -> None:
    child = record_child(world.riverside, dsl, "John", "Smith", "2015-03-07")
    signed_in(client, teacher)
    search = {"first_name": "Jon", "last_name": "Smith", "dob_day": "7", "dob_month": "3"}
    response = client.post("/concerns/new/", {**search, "dob_year": "2015"})
    page = response.content.decode()
    assert "First name is a variant of the same name" not in page  # it follows other words
    assert "Same date of birth, same surname, first name is a variant of the same name" in page
    response = client.post(f"/children/find/concern/{child.pk}/")
    assert response["Location"] == f"/children/{child.pk}/concerns/new/"
    event = AuditEvent.objects.get(actor=teacher, action=AuditAction.MATCH)
    assert event.target_id == str(child.pk)
    assert event.data["offered"] is True
    assert event.data["reasons"] == ["dob", "surname", "first_name_variant"]
    assert "Jon" not in str(event.data)


# Merges --------------------------------------------------------------------------------------


def test_authority_staff_merge_and_a_manager_undoes_it(
    world: World,
    dsl: Any,
    police_officer: Any,
    social_worker: Any,
    team_manager: Any,
) -> None:
    school = record_child(world.riverside, dsl, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
    police = record_child(
        world.police, police_officer, "Ava", "Green", "2014-06-01", postcode="NS1 1AA"
    )
    concern = factories.ConcernFactory.create(
        agency=world.police, child=police, raised_by=police_officer
    )
    concern_share_with_authority(concern=concern, user=police_officer, reason="For the picture.")

    decision = child_merge(user=social_worker, kept=school, duplicate=police)
    police.refresh_from_db()
    assert police.merged_into == school
    merge = AuditEvent.objects.get(action=AuditAction.MERGE)
    assert (merge.actor, merge.target_id, merge.data["kept"]) == (
        social_worker,
        str(police.pk),
        school.pk,
    )
    # The authority's chronology joins the records; the school still sees only its own.
    _entries, concerns, _ = child_chronology_for_user(user=social_worker, child=school)
    assert concerns == [concern]
    assert child_chronology_for_user(user=dsl, child=school)[1] == []

    with pytest.raises(ApplicationError):
        child_unmerge(user=social_worker, decision=decision, reason="Twins.")
    child_unmerge(user=team_manager, decision=decision, reason="Twins: different first names.")
    police.refresh_from_db()
    decision.refresh_from_db()
    assert police.merged_into is None
    assert decision.reversed_by == team_manager
    assert AuditEvent.objects.filter(action=AuditAction.UNMERGE, actor=team_manager).count() == 1
    assert child_chronology_for_user(user=social_worker, child=school)[1] == []


def test_a_school_cannot_merge_and_not_the_same_child_stops_the_offer(
    world: World, dsl: Any, police_officer: Any, social_worker: Any
) -> None:
    school = record_child(world.riverside, dsl, "Ava", "Green", "2014-06-01")
    police = record_child(world.police, police_officer, "Ava", "Green", "2014-06-01")
    with pytest.raises(ApplicationError):
        child_merge(user=dsl, kept=school, duplicate=police)
    assert not ChildMatchDecision.objects.exists()
    child_match_reject(user=social_worker, child=school, other=police)
    assert AuditEvent.objects.filter(action=AuditAction.NOT_MATCH, actor=social_worker).exists()
    from referrals.children.joined_up import child_duplicates_for_user

    assert child_duplicates_for_user(user=social_worker, child=school) == []


def test_the_matches_page_explains_and_merges(
    client: Client, world: World, dsl: Any, police_officer: Any, social_worker: Any
) -> None:
    school = record_child(world.riverside, dsl, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
    police = record_child(
        world.police, police_officer, "Ava", "Greene", "2014-06-01", postcode="NS1 1AA"
    )
    concern = factories.ConcernFactory.create(agency=world.riverside, child=school, raised_by=dsl)
    concern_share_with_authority(concern=concern, user=dsl, reason="For the picture.")
    signed_in(client, social_worker)
    page = client.get(f"/children/{school.pk}/matches/").content.decode()
    assert "Same date of birth, similar surname, same first name, same postcode" in page
    assert client.post(f"/children/{school.pk}/matches/{police.pk}/merge/").status_code == 302
    police.refresh_from_db()
    assert police.merged_into == school


# The household -------------------------------------------------------------------------------


def test_a_new_adult_in_the_household_shows_in_the_chronology(
    world: World, dsl: Any, social_worker: Any, police_officer: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    factories.ConcernFactory.create(agency=world.police, child=child, raised_by=police_officer)
    household_member_add(
        user=dsl,
        agency=world.riverside,
        child=child,
        first_name="Dean",
        last_name="Partner",
        relationship="parents_partner",
        lives_with_child=True,
        joined_on=datetime.date(2026, 10, 1),
    )
    titles = [e.title for e in child_chronology_for_user(user=dsl, child=child)[0]]
    assert "Adult linked to the child: Partner of a parent (lives with the child)" in titles
    assert any(
        "Dean Partner" in e.text
        for e in child_chronology_for_user(user=social_worker, child=child)[0]
    )
    # Police see the child, not what the school recorded about the household.
    assert not any(
        "Dean" in e.text for e in child_chronology_for_user(user=police_officer, child=child)[0]
    )
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, target_type="referrals.householdmember", actor=dsl
    ).exists()


def test_a_referral_shows_the_authority_other_children_at_the_address(
    client: Client, world: World, dsl: Any, social_worker: Any, police_officer: Any
) -> None:
    address = "12 Mill Lane\nNorthtown"
    child = record_child(
        world.riverside, dsl, "Ava", "Green", "2014-06-01", address=address, postcode="NS1 1AA"
    )
    sibling = record_child(
        world.police,
        police_officer,
        "Leo",
        "Brown",
        "2019-02-02",
        address="12, Mill Lane",
        postcode="ns11aa",
    )
    record_child(
        world.police,
        police_officer,
        "Mia",
        "Next",
        "2018-01-01",
        address="14 Mill Lane",
        postcode="NS1 1AA",
    )
    draft = referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        urgency="standard",
        reason="Neglect.",
        consent=Referral.Consent.GIVEN,
    )
    referral = referral_submit(referral=draft, user=dsl)
    signed_in(client, social_worker)
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Other children known at this address" in page
    assert f"(record #{sibling.pk})" in page
    assert "Mia Next" not in page
    # The referrer does not learn about other children.
    signed_in(client, dsl)
    assert "Leo Brown" not in client.get(f"/referrals/{referral.pk}/").content.decode()
