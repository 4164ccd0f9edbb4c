"""The chronology shows each reader at most what they may know of each referral.

A referral the reader may open reads as its audience allows (the receiving team, the
referrer's side, a partner it is shared with). One they may not open, because another team of
their authority received it, reads as a partner would: never its internal notes, staffing,
escalations, the decision's rationale or the words of its feedback.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from referrals.casework.sharing import referral_share
from referrals.children.chronology import child_chronology_for_user
from referrals.models import Child, Referral
from tests import factories
from tests.conftest import World
from tests.referrals.casework.test_triage import fresh

FD_NOTE = "Front door: mother's partner has a history (internal)."
FD_RATIONALE = "Front door rationale: threshold met for s47."
FD_FEEDBACK = "Front door feedback to the school."
EDT_NOTE = "Duty team: police called at 02:00 (internal)."
EDT_RATIONALE = "Duty team rationale: safe with grandparent overnight."


@pytest.fixture
def story(world: World, dsl: Any, police_officer: Any) -> dict[str, Any]:
    """One child; the front door decided the school's referral, the duty team the police's."""
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    front = factories.DecidedReferralFactory.create(
        child=child, referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    duty = factories.ClosedReferralFactory.create(
        child=child, referring_agency=world.police, referrer=police_officer, team=world.edt
    )
    for referral, note, rationale in (
        (front, FD_NOTE, FD_RATIONALE),
        (duty, EDT_NOTE, EDT_RATIONALE),
    ):
        factories.ReferralEventFactory.create(referral=referral, kind="submitted", text="")
        factories.ReferralEventFactory.create(
            referral=referral, kind="note", text=note, is_internal=True
        )
        factories.ReferralEventFactory.create(
            referral=referral, kind="decided", text=rationale, is_internal=True
        )
        factories.DecisionFactory.create(referral=referral, outcome="s47", rationale=rationale)
    factories.ReferralEventFactory.create(referral=front, kind="feedback", text=FD_FEEDBACK)
    return {"child": child, "front": front, "duty": duty}


def _read(user: Any, child: Child) -> tuple[str, dict[int, bool]]:
    """All the chronology's text, and for each referral whether the reader may open it."""
    entries, _concerns, _referrals = child_chronology_for_user(user=fresh(user), child=child)
    text = "\n".join(f"{entry.title} {entry.text}" for entry in entries)
    opens = {e.referral.pk: e.may_open for e in entries if isinstance(e.referral, Referral)}
    return text, opens


def test_the_duty_team_never_reads_the_front_doors_notes_or_rationale(
    world: World, story: dict[str, Any]
) -> None:
    duty_worker = factories.UserFactory.create()
    factories.MembershipFactory.create(
        user=duty_worker, agency=world.north_csc, team=world.edt, role="social_worker"
    )
    text, opens = _read(duty_worker, story["child"])
    assert opens[story["front"].pk] is False  # a 404 on its page...
    assert "Referral: Submitted" in text  # ...and in the chronology only its story
    for hidden in (FD_NOTE, FD_RATIONALE, FD_FEEDBACK):
        assert hidden not in text


def test_the_front_door_reads_its_own_notes_not_the_duty_teams(
    social_worker: Any, story: dict[str, Any]
) -> None:
    text, opens = _read(social_worker, story["child"])
    assert opens == {story["front"].pk: True, story["duty"].pk: False}
    assert FD_NOTE in text
    assert FD_RATIONALE in text
    assert EDT_NOTE not in text
    assert EDT_RATIONALE not in text


def test_a_service_manager_reads_every_team_of_the_authority(
    world: World, story: dict[str, Any]
) -> None:
    manager = factories.UserFactory.create()
    factories.MembershipFactory.create(user=manager, agency=world.north_csc, role="service_manager")
    text, opens = _read(manager, story["child"])
    assert set(opens.values()) == {True}
    for shown in (FD_NOTE, FD_RATIONALE, EDT_NOTE, EDT_RATIONALE):
        assert shown in text


def test_the_referrer_reads_the_feedback_not_the_teams_notes(
    dsl: Any, story: dict[str, Any]
) -> None:
    text, opens = _read(dsl, story["child"])
    assert opens == {story["front"].pk: True}
    assert FD_FEEDBACK in text
    for hidden in (FD_NOTE, FD_RATIONALE, EDT_NOTE, EDT_RATIONALE):
        assert hidden not in text


def test_a_partner_reads_what_happened_not_the_words(
    world: World, team_manager: Any, partner: Any, story: dict[str, Any]
) -> None:
    referral_share(
        referral=story["front"],
        user=team_manager,
        agency=world.health,
        reason="Strategy discussion.",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    text, opens = _read(partner, story["child"])
    assert opens == {story["front"].pk: True}
    assert "Referral: Feedback sent" in text
    for hidden in (FD_NOTE, FD_RATIONALE, FD_FEEDBACK, EDT_NOTE):
        assert hidden not in text
