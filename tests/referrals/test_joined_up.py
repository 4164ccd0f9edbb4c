"""Issue 9: one child across agencies, patterns of concerns, the household."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from referrals.casework.queue import QueueFilters, referral_queue_for_user
from referrals.casework.referrals import referral_create, referral_submit
from referrals.casework.triage import referral_acknowledge, referral_decide
from referrals.children.chronology import child_chronology_for_user
from referrals.children.household import household_member_add
from referrals.children.matching import MatchQuery, child_matches
from referrals.children.merge import child_match_reject, child_merge, child_unmerge
from referrals.children.selectors import child_find_for_user
from referrals.children.services import child_create
from referrals.clocks.sweep import referral_escalations_sweep
from referrals.concerns.services import concern_create
from referrals.core.errors import ApplicationError
from referrals.core.match_keys import fold, similarity
from referrals.models import (
    AuditAction,
    AuditEvent,
    Child,
    ChildMatchDecision,
    Concern,
    Escalation,
    PatternFlag,
    PatternRule,
    Referral,
)
from referrals.patterns.services import concern_share_with_authority
from tests import factories
from tests.conftest import World, signed_in

UTC = datetime.UTC
# Tuesday 24 November 2026, 10:30 in London: in working hours.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
NHS = "9434765919"


def _child(agency: Any, user: Any, first: str, last: str, born: str, **extra: Any) -> Child:
    return child_create(
        user=user,
        agency=agency,
        first_name=first,
        last_name=last,
        date_of_birth=datetime.date.fromisoformat(born),
        **extra,
    )


def _authority(world: World) -> Any:
    return Child.objects.filter(local_authority=world.northshire, merged_into__isnull=True)


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
        key: _child(world.riverside, dsl, first, last, born, postcode=postcode)
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
    matches = child_matches(children=_authority(world), query=query)
    assert matches, "no match offered"
    assert matches[0].child == known[expected]
    assert all(m.score < matches[0].score for m in matches[1:])
    assert words in matches[0].explanation.lower()
    assert matches[0].is_likely


def test_the_score_is_explained_in_plain_words(known: dict[str, Child], world: World) -> None:
    query = MatchQuery("John", "Smyth", datetime.date(2015, 3, 7), "NS1 4AB")
    best = child_matches(children=_authority(world), query=query)[0]
    assert best.child == known["john"]
    assert best.explanation == "Same date of birth, similar surname, same first name, same postcode"


def test_an_nhs_number_decides_before_any_name(world: World, dsl: Any) -> None:
    child = _child(world.riverside, dsl, "Tom", "Quill", "2015-01-01", nhs_number=NHS)
    query = MatchQuery("Thomas", "Different", None, "", NHS)
    [match] = child_matches(children=_authority(world), query=query)
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
    school = _child(world.riverside, dsl, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
    police = _child(world.police, police_officer, "Ava", "Green", "2014-06-01", postcode="NS9 9ZZ")
    assert (
        Child.objects.filter(pk__in=[school.pk, police.pk], merged_into__isnull=True).count() == 2
    )
    assert not ChildMatchDecision.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.MERGE).exists()
    # Offered to the authority, with the difference said out loud; decided by a person.
    [match] = child_matches(
        children=_authority(world), query=MatchQuery.of(school), exclude=[school.pk]
    )
    assert match.child == police
    assert "different postcode" in match.explanation


def test_the_same_nhs_number_links_records_and_says_who(
    world: World, dsl: Any, police_officer: Any
) -> None:
    school = _child(world.riverside, dsl, "Ava", "Green", "2014-06-01", nhs_number=NHS)
    police = _child(world.police, police_officer, "Eva", "Greene", "2014-01-06", nhs_number=NHS)
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
    _child(world.police, police_officer, "Kai", "Storm", "2013-02-02", nhs_number=NHS)
    found = child_find_for_user(
        user=teacher,
        first_name="Kai",
        last_name="Storm",
        date_of_birth=datetime.date(2013, 2, 2),
        nhs_number=NHS,
    )
    assert found == []
    mine = _child(world.riverside, dsl, "Kai", "Storme", "2013-02-02")
    found = child_find_for_user(
        user=teacher, first_name="Kai", last_name="Storm", date_of_birth=None
    )
    assert [m.child for m in found] == [mine]


def test_choosing_an_offered_child_is_audited_with_its_score(
    client: Client, world: World, teacher: Any, dsl: Any
) -> None:
    child = _child(world.riverside, dsl, "John", "Smith", "2015-03-07")
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
    school = _child(world.riverside, dsl, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
    police = _child(world.police, police_officer, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
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
    school = _child(world.riverside, dsl, "Ava", "Green", "2014-06-01")
    police = _child(world.police, police_officer, "Ava", "Green", "2014-06-01")
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
    school = _child(world.riverside, dsl, "Ava", "Green", "2014-06-01", postcode="NS1 1AA")
    police = _child(world.police, police_officer, "Ava", "Greene", "2014-06-01", postcode="NS1 1AA")
    concern = factories.ConcernFactory.create(agency=world.riverside, child=school, raised_by=dsl)
    concern_share_with_authority(concern=concern, user=dsl, reason="For the picture.")
    signed_in(client, social_worker)
    page = client.get(f"/children/{school.pk}/matches/").content.decode()
    assert "Same date of birth, similar surname, same first name, same postcode" in page
    assert client.post(f"/children/{school.pk}/matches/{police.pk}/merge/").status_code == 302
    police.refresh_from_db()
    assert police.merged_into == school


# Concerns adding up --------------------------------------------------------------------------


@pytest.fixture
def health_lead(world: World) -> Any:
    user = factories.UserFactory.create(email="lead@health.test")
    factories.MembershipFactory.create(user=user, agency=world.health, role="dsl")
    return user


def _record_and_share(agency: Any, user: Any, child: Child, when: datetime.datetime) -> Concern:
    concern = concern_create(
        user=user,
        agency=agency,
        child=child,
        observed_at=when,
        what_happened="Low-level worry.",
    )
    return concern_share_with_authority(concern=concern, user=user, reason="Below threshold.")


def test_three_agencies_low_level_concerns_raise_one_flag_that_escalates(
    world: World,
    dsl: Any,
    police_officer: Any,
    health_lead: Any,
    social_worker: Any,
    team_manager: Any,
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        # Each agency knows the child by its own record; the NHS number joins them.
        school_child = _child(world.riverside, dsl, "Ava", "Green", "2014-06-01", nhs_number=NHS)
        police_child = _child(
            world.police, police_officer, "Ava", "Green", "2014-06-01", nhs_number=NHS
        )
        health_child = _child(
            world.health, health_lead, "Eva", "Green", "2014-06-01", nhs_number=NHS
        )
        school = _record_and_share(
            world.riverside, dsl, school_child, TUESDAY - datetime.timedelta(days=80)
        )
        police = _record_and_share(
            world.police, police_officer, police_child, TUESDAY - datetime.timedelta(days=30)
        )
        assert not PatternFlag.objects.exists()  # two concerns are not yet a pattern
        health = _record_and_share(world.health, health_lead, health_child, TUESDAY)

        flag = PatternFlag.objects.get()
        item = flag.item
        assert item.kind == Referral.Kind.PATTERN
        assert (item.status, item.team, item.child) == ("submitted", world.front_door, school_child)
        assert set(item.concerns.all()) == {school, police, health}
        assert flag.summary.startswith("3 concerns from 3 agencies within 90 days")
        raised = AuditEvent.objects.get(action=AuditAction.FLAG)
        assert raised.actor_label == "pattern rules"
        assert sorted(raised.data["concerns"]) == sorted([school.pk, police.pk, health.pk])

        # It is in the Northshire front door's queue, once, with its concerns.
        page = referral_queue_for_user(user=social_worker, filters=QueueFilters())
        assert [r.pk for r in page.rows] == [item.pk]
        # A fourth concern joins the open flag: still one.
        _record_and_share(world.riverside, dsl, school_child, TUESDAY)
        assert PatternFlag.objects.count() == 1
        assert item.concerns.count() == 4

    # Nobody acknowledges it: the one sweep escalates it like a referral, once.
    later = (item.acknowledge_due_at or TUESDAY) + datetime.timedelta(minutes=1)
    assert referral_escalations_sweep(now=later) == 1
    assert referral_escalations_sweep(now=later) == 0
    escalation = Escalation.objects.get(referral=item)
    assert (escalation.clock, escalation.level) == ("acknowledge", 1)
    assert (
        AuditEvent.objects.filter(action=AuditAction.ESCALATE, target_id=str(item.pk)).count() == 1
    )


def test_concerns_from_one_agency_or_outside_the_window_raise_nothing(
    world: World, dsl: Any, police_officer: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    for _ in range(3):
        _record_and_share(world.riverside, dsl, child, timezone.now())
    old = timezone.now() - datetime.timedelta(days=120)
    _record_and_share(world.police, police_officer, child, old)
    assert not PatternFlag.objects.exists()
    assert not Referral.objects.filter(kind=Referral.Kind.PATTERN).exists()


def test_the_rules_are_the_authoritys_own(world: World, dsl: Any, police_officer: Any) -> None:
    PatternRule.objects.create(
        local_authority=world.northshire, kind="cumulative", min_concerns=2, min_agencies=2
    )
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    _record_and_share(world.riverside, dsl, child, timezone.now())
    _record_and_share(world.police, police_officer, child, timezone.now())
    assert PatternFlag.objects.get().rule.min_concerns == 2


def test_a_repeat_referral_after_no_further_action_is_flagged(
    world: World, dsl: Any, social_worker: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)

    def refer() -> Referral:
        draft = referral_create(
            user=dsl,
            agency=world.riverside,
            child=child,
            urgency="standard",
            reason="Neglect.",
            consent=Referral.Consent.GIVEN,
        )
        return referral_submit(referral=draft, user=dsl)

    first = refer()
    referral_acknowledge(referral=first, user=social_worker)
    referral_decide(
        referral=first,
        user=social_worker,
        outcome="nfa",
        rationale="Needs met by universal services.",
        feedback="Thank you.",
    )
    assert not PatternFlag.objects.exists()
    second = refer()
    flag = PatternFlag.objects.get()
    assert flag.item == second
    assert list(flag.referrals.all()) == [first]
    assert AuditEvent.objects.filter(action=AuditAction.FLAG, target_id=str(second.pk)).exists()


def test_sharing_a_concern_is_for_leads_and_audited(world: World, teacher: Any, dsl: Any) -> None:
    concern = factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    with pytest.raises(ApplicationError):
        concern_share_with_authority(concern=concern, user=teacher, reason="Worried.")
    concern_share_with_authority(concern=concern, user=dsl, reason="Worried.")
    concern.refresh_from_db()
    assert concern.shared_with_authority == world.northshire
    assert AuditEvent.objects.filter(
        action=AuditAction.SHARE, target_type="referrals.concern", actor=dsl
    ).exists()
    with pytest.raises(ApplicationError):
        concern_share_with_authority(concern=concern, user=dsl, reason="Again.")


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
    child = _child(
        world.riverside, dsl, "Ava", "Green", "2014-06-01", address=address, postcode="NS1 1AA"
    )
    sibling = _child(
        world.police,
        police_officer,
        "Leo",
        "Brown",
        "2019-02-02",
        address="12, Mill Lane",
        postcode="ns11aa",
    )
    _child(
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
