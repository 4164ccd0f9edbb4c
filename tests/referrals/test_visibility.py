"""Who sees what: one selector per model; outsiders get 404 and the refusal is audited."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from referrals.casework.sharing import referral_share, share_revoke
from referrals.models import AuditAction, AuditEvent, Referral
from referrals.visibility import (
    child_get_for_user,
    child_list_for_user,
    concern_get_for_user,
    concern_list_for_user,
    referral_get_for_user,
    referral_list_for_user,
)
from tests import factories
from tests.conftest import World


@pytest.fixture
def referral(world: World, dsl: Any) -> Referral:
    """Riverside's referral, submitted to Northshire's Front Door."""
    return factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside,
        referrer=dsl,
        child__created_by_agency=world.riverside,
        team=world.front_door,
    )


def test_the_referring_agencys_dsl_the_team_and_the_referrer_see_it(
    referral: Referral, dsl: Any, social_worker: Any, team_manager: Any, world: World
) -> None:
    assert referral.referrer is not None
    for person in (dsl, social_worker, team_manager, referral.referrer):
        assert list(referral_list_for_user(user=person)) == [referral]


def test_outsiders_see_nothing(
    referral: Referral, other_school_dsl: Any, outsider: Any, partner: Any, teacher: Any
) -> None:
    for person in (other_school_dsl, outsider, partner, teacher):
        assert not referral_list_for_user(user=person).exists()


def test_outsider_gets_404_and_the_refusal_is_audited(referral: Referral, outsider: Any) -> None:
    with pytest.raises(Http404):
        referral_get_for_user(user=outsider, pk=referral.pk)
    denied = AuditEvent.objects.get(action=AuditAction.DENIED)
    assert denied.actor == outsider
    assert (denied.target_type, denied.target_id) == ("referrals.referral", str(referral.pk))
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


def test_a_missing_referral_looks_the_same_as_a_forbidden_one(outsider: Any) -> None:
    with pytest.raises(Http404):
        referral_get_for_user(user=outsider, pk=999_999)
    with pytest.raises(Http404):
        referral_get_for_user(user=outsider, pk="not-a-number")


def test_every_read_is_audited(referral: Referral, social_worker: Any) -> None:
    assert referral_get_for_user(user=social_worker, pk=referral.pk) == referral
    view = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (view.actor, view.target_id) == (social_worker, str(referral.pk))


def test_the_team_never_sees_a_draft(world: World, dsl: Any, social_worker: Any) -> None:
    draft = factories.ReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, child__created_by_agency=world.riverside
    )
    assert list(referral_list_for_user(user=dsl)) == [draft]
    assert not referral_list_for_user(user=social_worker).exists()


def test_a_share_shows_the_referral_to_the_partner_until_it_is_revoked(
    referral: Referral, partner: Any, team_manager: Any, world: World
) -> None:
    referral.status = Referral.Status.ACKNOWLEDGED
    referral.save()
    share = referral_share(
        referral=referral,
        user=team_manager,
        agency=world.health,
        reason="Strategy discussion",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    partner = type(partner).objects.get(pk=partner.pk)  # a fresh request
    assert list(referral_list_for_user(user=partner)) == [referral]
    share_revoke(share=share, user=team_manager)
    partner = type(partner).objects.get(pk=partner.pk)
    assert not referral_list_for_user(user=partner).exists()


def test_a_share_does_not_reach_ordinary_staff_of_the_partner(
    referral: Referral, team_manager: Any, world: World
) -> None:
    health_staff = factories.UserFactory.create()
    factories.MembershipFactory.create(user=health_staff, agency=world.health, role="staff")
    referral_share(
        referral=referral,
        user=team_manager,
        agency=world.health,
        reason="Strategy discussion",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    assert not referral_list_for_user(user=health_staff).exists()


def test_a_deactivated_person_sees_nothing(referral: Referral, social_worker: Any) -> None:
    social_worker.is_active = False
    social_worker.save()
    assert not referral_list_for_user(user=social_worker).exists()


def test_staff_see_only_the_concerns_they_raised(world: World, teacher: Any, dsl: Any) -> None:
    mine = factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    colleagues = factories.ConcernFactory.create(agency=world.riverside)
    assert list(concern_list_for_user(user=teacher)) == [mine]
    assert set(concern_list_for_user(user=dsl)) == {mine, colleagues}
    with pytest.raises(Http404):
        concern_get_for_user(user=teacher, pk=colleagues.pk)


def test_the_front_door_sees_the_concerns_a_referral_brought(
    referral: Referral, social_worker: Any, outsider: Any, world: World
) -> None:
    concern = factories.ReviewedConcernFactory.create(agency=world.riverside, child=referral.child)
    unrelated = factories.ConcernFactory.create(agency=world.riverside)
    referral.concerns.add(concern)
    assert list(concern_list_for_user(user=social_worker)) == [concern]
    assert unrelated not in concern_list_for_user(user=social_worker)
    assert not concern_list_for_user(user=outsider).exists()


def test_children_are_found_by_the_agencies_that_know_them(
    referral: Referral, teacher: Any, outsider: Any, social_worker: Any
) -> None:
    assert list(child_list_for_user(user=teacher)) == [referral.child]
    assert list(child_list_for_user(user=social_worker)) == [referral.child]
    with pytest.raises(Http404):
        child_get_for_user(user=outsider, pk=referral.child.pk)


def test_the_emergency_duty_team_opens_the_open_referrals_it_may_be_alerted_about(
    referral: Referral, world: World, dsl: Any
) -> None:
    duty = factories.UserFactory.create()
    factories.MembershipFactory.create(
        user=duty, agency=world.north_csc, team=world.edt, role="social_worker"
    )
    assert list(referral_list_for_user(user=duty)) == [referral]
    # Once it is decided it is the front door's again, not the night's.
    referral.status = Referral.Status.DECIDED
    referral.save()
    duty = type(duty).objects.get(pk=duty.pk)
    assert not referral_list_for_user(user=duty).exists()
    draft = factories.ReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, child__created_by_agency=world.riverside
    )
    assert draft not in referral_list_for_user(user=duty)
