"""'Who has seen this': leads and managers see every read of a child or referral."""

from __future__ import annotations

from typing import Any

from django.test import Client

from referrals.casework.referrals import referral_create, referral_submit
from referrals.models import Referral
from tests import factories
from tests.conftest import signed_in


def _referral(world: Any, dsl: Any) -> Referral:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    referral = referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        concerns=[],
        urgency="urgent",
        reason="Bruising.",
        consent=Referral.Consent.GIVEN,
    )
    return referral_submit(referral=referral, user=dsl)


def test_a_dsl_sees_who_read_the_referral_and_who_was_refused(
    world: Any, dsl: Any, social_worker: Any, outsider: Any
) -> None:
    referral = _referral(world, dsl)
    assert signed_in(Client(), social_worker).get(f"/referrals/{referral.pk}/").status_code == 200
    assert signed_in(Client(), outsider).get(f"/referrals/{referral.pk}/").status_code == 404
    page = signed_in(Client(), dsl).get(f"/referrals/{referral.pk}/access/")
    assert page.status_code == 200
    rows = [(e.actor, e.action) for e in page.context["events"]]
    assert (social_worker, "view") in rows
    assert (outsider, "denied") in rows
    assert (dsl, "submit") in rows
    assert str(social_worker) in page.content.decode()  # by name (issue 15)


def test_the_childs_log_covers_its_referrals_but_not_what_the_reader_cannot_see(
    world: Any, dsl: Any, team_manager: Any, other_school_dsl: Any
) -> None:
    referral = _referral(world, dsl)
    hidden = factories.ConcernFactory.create(agency=world.hillview, child=referral.child)
    signed_in(Client(), other_school_dsl).get(f"/concerns/{hidden.pk}/")
    page = signed_in(Client(), team_manager).get(f"/children/{referral.child_id}/access/")
    assert page.status_code == 200
    targets = {(e.target_type, e.target_id) for e in page.context["events"]}
    assert ("referrals.referral", str(referral.pk)) in targets
    assert ("referrals.concern", str(hidden.pk)) not in targets


def test_the_record_pages_link_to_who_has_seen_them_for_those_who_may_read_it(
    client: Any, world: Any, dsl: Any, teacher: Any
) -> None:
    referral = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside,
        referrer=dsl,
        child__created_by_agency=world.riverside,
        team=world.front_door,
    )
    page = signed_in(client, dsl).get(f"/referrals/{referral.pk}/").content.decode()
    assert f"/referrals/{referral.pk}/access/" in page
    chronology = client.get(f"/children/{referral.child_id}/").content.decode()
    assert f"/children/{referral.child_id}/access/" in chronology
    staff = signed_in(Client(), teacher).get(f"/children/{referral.child_id}/").content.decode()
    assert "/access/" not in staff
