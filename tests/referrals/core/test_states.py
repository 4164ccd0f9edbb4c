"""The referral's state table: each step moves only from its statuses, and everything reads it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from referrals.casework.sharing import referral_share
from referrals.core import errors, states
from referrals.core.errors import ApplicationError
from referrals.core.states import ReferralStatus, Step
from referrals.models import AuditAction, AuditEvent, Referral, Share
from tests import factories
from tests.conftest import World, signed_in


@dataclass
class Record:
    status: str


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("status", ReferralStatus.values)
def test_a_step_moves_only_from_its_statuses_and_refuses_with_its_message(
    step: Step, status: str
) -> None:
    rule = states.TABLE[step]
    record = Record(status)
    if status in rule.sources:
        states.transition(record, step)
        assert record.status == (rule.target or status)
        assert states.allows(step, status)
    else:
        with pytest.raises(ApplicationError) as refused:
            states.transition(record, step)
        assert (refused.value.message, refused.value.code) == (rule.refusal, "state")
        assert record.status == status
        assert not states.allows(step, status)


def test_the_named_sets_agree_with_the_clocks() -> None:
    assert set(states.OPEN) == set(states.CLOCKS)
    assert states.AWAITING_ACKNOWLEDGEMENT == (ReferralStatus.SUBMITTED,)
    assert set(states.IN_QUEUE) == {*states.OPEN, ReferralStatus.DECIDED}
    assert set(states.RECEIVED) == set(ReferralStatus.values) - {ReferralStatus.DRAFT}
    # Every status a step can lead to is a status; nothing leads back to a draft.
    targets = {rule.target for rule in states.TABLE.values() if rule.target is not None}
    assert targets <= set(ReferralStatus.values) - {states.INITIAL}


def test_a_withdrawn_referral_cannot_be_shared(
    world: World, dsl: Any, team_manager: Any, partner: Any
) -> None:
    referral = factories.WithdrawnReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    with pytest.raises(ApplicationError) as refused:
        referral_share(
            referral=referral,
            user=team_manager,
            agency=world.police,
            reason="For the strategy discussion.",
            expires_at=timezone.now() + datetime.timedelta(days=7),
        )
    assert refused.value.message == errors.REFERRAL_NOT_SHAREABLE
    assert not Share.objects.filter(referral=referral).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SHARE).exists()


# Each button the referral page may offer a manager, and the step it takes.
BUTTONS = {
    "claim/": Step.CLAIM,
    "acknowledge/": Step.ACKNOWLEDGE,
    "decide/": Step.DECIDE,
    "reassign/": Step.REASSIGN,
    "share/": Step.SHARE,
    "transfer/": Step.TRANSFER,
    "close/": Step.CLOSE,
}
FACTORIES: dict[str, Any] = {
    ReferralStatus.SUBMITTED: factories.SubmittedReferralFactory,
    ReferralStatus.ACKNOWLEDGED: factories.AcknowledgedReferralFactory,
    ReferralStatus.INFORMATION_REQUESTED: factories.InformationRequestedReferralFactory,
    ReferralStatus.DECIDED: factories.DecidedReferralFactory,
    ReferralStatus.CLOSED: factories.ClosedReferralFactory,
    ReferralStatus.WITHDRAWN: factories.WithdrawnReferralFactory,
}


@pytest.mark.parametrize("status", list(FACTORIES))
def test_the_referral_page_offers_a_manager_exactly_what_the_table_allows(
    client: Client, world: World, dsl: Any, team_manager: Any, status: str
) -> None:
    referral: Referral = FACTORIES[status].create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    page = signed_in(client, team_manager).get(f"/referrals/{referral.pk}/").content.decode()
    offered = {
        step for suffix, step in BUTTONS.items() if f"/referrals/{referral.pk}/{suffix}" in page
    }
    assert offered == {step for step in BUTTONS.values() if states.allows(step, status)}
