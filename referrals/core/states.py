"""The referral's states and what may happen in each: the one table everything reads.

```
draft -> submitted -> acknowledged -> (information requested <-> received) -> decided -> closed
           |                                                          (feedback sent)
           +-> withdrawn (by the referrer, before acknowledgement)
           +-> transferred (to another local authority's queue)
```

Services move a referral with `transition` (it refuses a step its status does not allow, with
the step's message); pages and the API ask `allows` which buttons to offer; queries, the
escalation sweep and the partial indexes filter on the named sets below. Nothing else compares a
referral's status. A plain table rather than a state-machine library: the services lock the
row, check, write and audit in one transaction, and a library's model-method transitions would
put state changes back on the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.db import models
from django.db.models import Q

from referrals.core import errors
from referrals.core.errors import ApplicationError


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INFORMATION_REQUESTED = "information_requested", "Information requested"
    INFORMATION_RECEIVED = "information_received", "Information received"
    DECIDED = "decided", "Decided"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    TRANSFERRED = "transferred", "Transferred"


class Clock(models.TextChoices):
    """The statutory clocks: acknowledge the referral, then decide the response."""

    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    DECIDE = "decide", "Decide"


class Step(StrEnum):
    """Everything that can happen to a referral that its status decides."""

    SUBMIT = "submit"
    CLAIM = "claim"
    ACKNOWLEDGE = "acknowledge"
    REQUEST_INFORMATION = "request_information"
    PROVIDE_INFORMATION = "provide_information"
    REASSIGN = "reassign"
    DECIDE = "decide"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    TRANSFER = "transfer"
    SHARE = "share"


_S = ReferralStatus

# A referral is made as a draft; only the referrer sees it until it is submitted.
INITIAL = _S.DRAFT

# Which clock each status runs. A status not here runs none (the order is the indexes').
CLOCKS: dict[str, Clock] = {
    _S.SUBMITTED: Clock.ACKNOWLEDGE,
    _S.ACKNOWLEDGED: Clock.DECIDE,
    _S.INFORMATION_REQUESTED: Clock.DECIDE,
    _S.INFORMATION_RECEIVED: Clock.DECIDE,
}
# Open: a clock runs, so the front door still owes the referral something and the sweep looks.
OPEN: tuple[str, ...] = tuple(CLOCKS)
AWAITING_ACKNOWLEDGEMENT: tuple[str, ...] = tuple(
    s for s, clock in CLOCKS.items() if clock == Clock.ACKNOWLEDGE
)
# What a team's queue shows: the open work and what was decided but not yet closed.
IN_QUEUE: tuple[str, ...] = (*OPEN, _S.DECIDED)
# The receiving authority has it: every status but a draft.
RECEIVED: tuple[str, ...] = tuple(s for s in _S.values if s != _S.DRAFT)
# The referrer has an answer to read.
ANSWERED: tuple[str, ...] = (_S.DECIDED,)


@dataclass(frozen=True)
class Rule:
    """A step: the statuses it may start from, where it leaves the referral, and the refusal."""

    sources: frozenset[str]
    target: str | None  # None: the status stays as it was
    refusal: str


TABLE: dict[Step, Rule] = {
    Step.SUBMIT: Rule(frozenset({_S.DRAFT}), _S.SUBMITTED, errors.REFERRAL_NOT_DRAFT),
    Step.CLAIM: Rule(frozenset(OPEN), None, errors.REFERRAL_NOT_OPEN),
    Step.ACKNOWLEDGE: Rule(
        frozenset({_S.SUBMITTED}), _S.ACKNOWLEDGED, errors.REFERRAL_NOT_AWAITING_ACKNOWLEDGEMENT
    ),
    Step.REQUEST_INFORMATION: Rule(
        frozenset({_S.ACKNOWLEDGED, _S.INFORMATION_RECEIVED}),
        _S.INFORMATION_REQUESTED,
        errors.REFERRAL_NOT_OPEN,
    ),
    Step.PROVIDE_INFORMATION: Rule(
        frozenset({_S.INFORMATION_REQUESTED}),
        _S.INFORMATION_RECEIVED,
        errors.REFERRAL_NOT_AWAITING_INFORMATION,
    ),
    Step.REASSIGN: Rule(frozenset(OPEN), None, errors.REFERRAL_NOT_OPEN),
    Step.DECIDE: Rule(
        frozenset({_S.ACKNOWLEDGED, _S.INFORMATION_REQUESTED, _S.INFORMATION_RECEIVED}),
        _S.DECIDED,
        errors.REFERRAL_NOT_DECIDABLE,
    ),
    Step.CLOSE: Rule(frozenset({_S.DECIDED}), _S.CLOSED, errors.REFERRAL_NOT_CLOSABLE),
    # A draft was never sent: there is nothing to take back (its draft is deleted instead).
    Step.WITHDRAW: Rule(frozenset({_S.SUBMITTED}), _S.WITHDRAWN, errors.REFERRAL_NOT_WITHDRAWABLE),
    Step.TRANSFER: Rule(frozenset(OPEN), _S.TRANSFERRED, errors.REFERRAL_NOT_OPEN),
    Step.SHARE: Rule(
        frozenset(_S.values) - {_S.WITHDRAWN, _S.TRANSFERRED}, None, errors.REFERRAL_NOT_SHAREABLE
    ),
}


class HasStatus(Protocol):
    status: str


def allows(step: Step, status: str) -> bool:
    """Whether a referral in `status` may take `step`."""
    return status in TABLE[step].sources


def transition(referral: HasStatus, step: Step) -> None:
    """Take `step`: refuse it (ApplicationError, code "state") or set the status it leads to."""
    rule = TABLE[step]
    if referral.status not in rule.sources:
        raise ApplicationError(rule.refusal, code="state")
    if rule.target is not None:
        referral.status = rule.target


def clock_for(status: str) -> Clock | None:
    """The clock a status runs, if any."""
    return CLOCKS.get(status)


def is_open(status: str) -> bool:
    return status in CLOCKS


def status_q(statuses: tuple[str, ...], *, prefix: str = "") -> Q:
    """A filter on the referral's status (`prefix` reaches it through a relation)."""
    return Q(**{f"{prefix}status__in": list(statuses)})


def received_q(*, prefix: str = "") -> Q:
    """Referrals the receiving authority has: every one but a draft (one NOT, for the index)."""
    return ~Q(**{f"{prefix}status": INITIAL})
