"""Invariants that PostgreSQL itself enforces, whatever code writes the rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from referrals.casework.queue import QUEUE_STATUSES
from referrals.core import states
from referrals.models import Referral
from tests import factories


@pytest.mark.django_db
def test_escalation_is_unique_per_referral_clock_and_level() -> None:
    first = factories.EscalationFactory.create(clock="acknowledge", level=1)
    factories.EscalationFactory.create(referral=first.referral, clock="decide", level=1)
    factories.EscalationFactory.create(referral=first.referral, clock="acknowledge", level=2)
    with pytest.raises(IntegrityError, match="escalation_once_per_level"), transaction.atomic():
        factories.EscalationFactory.create(referral=first.referral, clock="acknowledge", level=1)
    assert first.referral.escalations.count() == 3


@pytest.mark.django_db
def test_refused_consent_needs_a_reason() -> None:
    with pytest.raises(IntegrityError, match="referral_consent_reason_required"):
        factories.ReferralFactory.create(consent=Referral.Consent.REFUSED, consent_reason="")


@pytest.mark.django_db
def test_a_submitted_referral_always_has_its_clocks() -> None:
    with pytest.raises(IntegrityError, match="referral_submitted_has_clock"):
        factories.SubmittedReferralFactory.create(acknowledge_due_at=None)


@pytest.mark.django_db
def test_one_active_share_per_agency() -> None:
    share = factories.ShareFactory.create()
    with pytest.raises(IntegrityError, match="share_one_active_per_agency"):
        factories.ShareFactory.create(referral=share.referral, agency=share.agency)


@pytest.mark.django_db
def test_urgency_rank_is_generated_by_the_database() -> None:
    immediate = factories.SubmittedReferralFactory.create(urgency="immediate")
    standard = factories.SubmittedReferralFactory.create(urgency="standard")
    urgent = factories.SubmittedReferralFactory.create(urgency="urgent")
    ordered = Referral.objects.filter(pk__in=[standard.pk, urgent.pk, immediate.pk]).order_by(
        "urgency_rank"
    )
    assert list(ordered) == [immediate, urgent, standard]


def _index_statuses(name: str) -> set[str]:
    index = next(i for i in Referral._meta.indexes if i.name == name)
    assert index.condition is not None
    ((lookup, statuses),) = index.condition.children
    assert lookup == "status__in"
    return set(statuses)


def test_the_partial_indexes_cover_what_the_queue_and_the_sweep_ask_for() -> None:
    # A status the queue or the sweep asks for but the index leaves out would make PostgreSQL
    # scan the referral table instead.
    assert _index_statuses("referral_team_queue") == set(QUEUE_STATUSES)
    assert _index_statuses("referral_escalation_due") == set(states.OPEN)
