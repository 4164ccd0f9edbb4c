"""Issue 4's services and selectors: notes, reassigning, who may answer, shares that expire."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from referrals.casework.sharing import referral_share, shares_expire
from referrals.casework.triage import (
    referral_decide,
    referral_note_add,
    referral_provide_information,
    referral_reassign,
    referral_request_information,
)
from referrals.children.chronology import child_chronology_for_user
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import (
    AuditAction,
    AuditEvent,
    Notification,
    Referral,
    ReferralEvent,
    ReferralGroupObjectPermission,
)
from referrals.visibility import (
    Audience,
    child_list_for_user,
    referral_audience,
    referral_list_for_user,
)
from tests import factories
from tests.conftest import World


def fresh(user: Any) -> Any:
    """The same person in a new request: their scope is read again."""
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def referral(world: World, dsl: Any) -> Referral:
    return factories.AcknowledgedReferralFactory.create(
        referring_agency=world.riverside,
        referrer=dsl,
        team=world.front_door,
        child__created_by_agency=world.riverside,
        owner=None,
    )


def _audit(referral: Referral, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            target_type="referrals.referral", target_id=str(referral.pk), action=action
        )
    )


def test_a_note_is_internal_to_the_team_and_audited(
    referral: Referral, social_worker: Any, dsl: Any
) -> None:
    event = referral_note_add(
        referral=referral, user=social_worker, text="Known to the family support team."
    )
    assert (event.kind, event.is_internal, event.actor) == ("note", True, social_worker)
    [audit] = _audit(referral, AuditAction.NOTE)
    assert audit.actor == social_worker
    assert audit.data == {"event": event.pk}
    assert referral_audience(user=dsl, referral=referral) == Audience.REFERRER


def test_only_the_receiving_team_may_add_notes(referral: Referral, dsl: Any, outsider: Any) -> None:
    for person in (dsl, outsider):
        with pytest.raises(ApplicationError) as refused:
            referral_note_add(referral=referral, user=person, text="A note")
        assert refused.value.message == errors.REFERRAL_NOT_RECEIVED
    assert not ReferralEvent.objects.filter(kind="note").exists()


def test_a_blank_note_is_refused(referral: Referral, social_worker: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        referral_note_add(referral=referral, user=social_worker, text="  ")
    assert refused.value.message == errors.NOTE_REQUIRED


def test_a_manager_reassigns_with_an_audit_row_a_timeline_event_and_a_notification(
    referral: Referral, team_manager: Any, social_worker: Any
) -> None:
    referral_reassign(referral=referral, user=team_manager, to_user=social_worker)
    referral.refresh_from_db()
    assert referral.owner == social_worker
    [audit] = _audit(referral, AuditAction.REASSIGN)
    assert audit.actor == team_manager
    assert audit.data == {"from": None, "to": social_worker.pk}
    event = referral.events.get(kind=ReferralEvent.Kind.REASSIGNED)
    assert event.is_internal
    assert event.actor == team_manager
    assert set(
        Notification.objects.filter(recipient=social_worker, referral=referral).values_list(
            "in_app", "email_status"
        )
    ) == {(True, "pending")}


def test_a_social_worker_may_not_reassign(
    referral: Referral, social_worker: Any, team_manager: Any
) -> None:
    with pytest.raises(ApplicationError) as refused:
        referral_reassign(referral=referral, user=social_worker, to_user=team_manager)
    assert refused.value.message == errors.PERMISSION_DENIED
    assert not _audit(referral, AuditAction.REASSIGN)


def test_a_referral_is_reassigned_only_within_its_team(
    referral: Referral, team_manager: Any, outsider: Any, social_worker: Any
) -> None:
    with pytest.raises(ApplicationError) as refused:
        referral_reassign(referral=referral, user=team_manager, to_user=outsider)
    assert refused.value.message == errors.REFERRAL_REASSIGN_NOT_TEAM_MEMBER
    referral_reassign(referral=referral, user=team_manager, to_user=social_worker)
    with pytest.raises(ApplicationError) as again:
        referral_reassign(referral=referral, user=team_manager, to_user=social_worker)
    assert again.value.message == errors.REFERRAL_REASSIGN_SAME_OWNER


def test_only_the_referrer_side_may_answer_a_question(
    referral: Referral, social_worker: Any, dsl: Any, other_school_dsl: Any
) -> None:
    referral_request_information(
        referral=referral, user=social_worker, message="Who lives at home?"
    )
    for person in (social_worker, other_school_dsl):
        with pytest.raises(ApplicationError) as refused:
            referral_provide_information(referral=referral, user=person, message="Nobody.")
        assert refused.value.message == errors.REFERRAL_NOT_REFERRER
    referral_provide_information(referral=referral, user=dsl, message="Mum and Dad.")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.INFORMATION_RECEIVED


def _share(referral: Referral, world: World, manager: Any, days: float) -> Any:
    return referral_share(
        referral=referral,
        user=manager,
        agency=world.health,
        reason="Strategy discussion",
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )


def test_a_share_past_its_expiry_shows_nothing_even_before_it_is_tidied_away(
    referral: Referral, world: World, team_manager: Any, partner: Any
) -> None:
    _share(referral, world, team_manager, days=2)
    assert list(referral_list_for_user(user=fresh(partner))) == [referral]
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3)):
        # The guardian grant is still there; the selector ignores it all the same.
        assert ReferralGroupObjectPermission.objects.filter(content_object=referral).exists()
        assert not referral_list_for_user(user=fresh(partner)).exists()
        assert not child_list_for_user(user=fresh(partner)).filter(pk=referral.child_id).exists()


def test_expired_shares_are_revoked_with_an_audit_row(
    referral: Referral, world: World, team_manager: Any
) -> None:
    expiring = _share(referral, world, team_manager, days=2)
    other = factories.AcknowledgedReferralFactory.create(team=world.front_door)
    lasting = _share(other, world, team_manager, days=30)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3)):
        assert shares_expire() == 1
        assert shares_expire() == 0
    expiring.refresh_from_db()
    lasting.refresh_from_db()
    assert expiring.revoked_at is not None
    assert expiring.revoked_by is None
    assert lasting.revoked_at is None
    assert not ReferralGroupObjectPermission.objects.filter(content_object=referral).exists()
    [audit] = _audit(referral, AuditAction.REVOKE_SHARE)
    assert audit.actor is None
    assert audit.actor_label == "system"


def test_a_partner_never_sees_the_teams_notes_the_rationale_or_the_feedback_text(
    referral: Referral, world: World, team_manager: Any, partner: Any, social_worker: Any
) -> None:
    referral_note_add(referral=referral, user=social_worker, text="NOTE-TEXT")
    referral_decide(
        referral=referral,
        user=social_worker,
        outcome="s47",
        rationale="RATIONALE-TEXT",
        feedback="FEEDBACK-TEXT",
    )
    _share(referral, world, team_manager, days=7)
    partner = fresh(partner)
    assert referral_audience(user=partner, referral=referral) == Audience.PARTNER
    entries, _concerns, _referrals = child_chronology_for_user(user=partner, child=referral.child)
    text = " ".join(f"{entry.title} {entry.text}" for entry in entries)
    assert "Section 47" in text
    for secret in ("NOTE-TEXT", "RATIONALE-TEXT", "FEEDBACK-TEXT", "Strategy discussion"):
        assert secret not in text
    team_entries, _c, _r = child_chronology_for_user(
        user=fresh(social_worker), child=referral.child
    )
    team_text = " ".join(entry.text for entry in team_entries)
    assert "NOTE-TEXT" in team_text
    assert "RATIONALE-TEXT" in team_text


def test_the_authority_sees_every_referral_about_the_child_it_received(
    world: World, dsl: Any, police_officer: Any, social_worker: Any, outsider: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    school = factories.DecidedReferralFactory.create(
        child=child, referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    # Another agency referred the same child; the out-of-hours team took it.
    police = factories.DecidedReferralFactory.create(
        child=child, referring_agency=world.police, referrer=police_officer, team=world.edt
    )
    factories.DecisionFactory.create(referral=police, outcome="police")
    factories.ReferralEventFactory.create(referral=police, kind="submitted", text="")
    factories.ReferralEventFactory.create(referral=police, kind="feedback", text="Passed on.")
    # A transfer out of another authority is that authority's.
    elsewhere = factories.SubmittedReferralFactory.create(
        child=child, team=world.south_front_door, local_authority=world.southvale
    )
    entries, _concerns, referrals = child_chronology_for_user(
        user=fresh(social_worker), child=child
    )
    assert {r.pk for r in referrals} == {school.pk, police.pk}
    police_entries = [e for e in entries if e.referral == police]
    assert police_entries
    assert not any(e.may_open for e in police_entries)
    assert any("Referred to police" in e.title for e in entries)
    assert child_list_for_user(user=fresh(social_worker)).filter(pk=child.pk).exists()
    # The school's lead sees only the school's referral; Southvale sees only its own.
    _e, _c, dsl_referrals = child_chronology_for_user(user=fresh(dsl), child=child)
    assert dsl_referrals == [school]
    _e, _c, south = child_chronology_for_user(user=fresh(outsider), child=child)
    assert south == [elsewhere]
