"""A referral's making and its ends: create, submit, send; withdraw, transfer."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable
from typing import TypedDict, Unpack

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agencies.capabilities import require_capability
from agencies.models import Agency, LocalAuthority, User
from referrals.audit import audit_record, audit_rows_last
from referrals.casework.common import (
    event_add,
    locked_referral,
    receiving_agency,
    require_receiving_capability,
)
from referrals.clocks.routing import authority_query
from referrals.clocks.running import referral_clocks_start
from referrals.concerns.drafts import draft_hold, drafts_discard_for
from referrals.core import errors, states
from referrals.core.errors import ApplicationError, ensure
from referrals.core.states import Step
from referrals.models import (
    AuditAction,
    Child,
    Concern,
    Draft,
    NotificationKind,
    Referral,
    ReferralEvent,
)
from referrals.outbox.notices import notifications_create
from referrals.outbox.recipients import team_members
from referrals.patterns.services import pattern_flags_evaluate, pattern_rules_read
from referrals.visibility import user_is_referrer_side


class ReferralFields(TypedDict, total=False):
    """What the referrer says (Referral's own fields); the service sets the rest."""

    urgency: str
    category: str
    factors: list[str]
    reason: str
    desired_outcome: str
    consent: str
    consent_reason: str
    parents_aware: str
    referrer_name: str
    referrer_phone: str
    referrer_email: str


# Keys a service sets from rows it has just read or written, so full_clean need not look each
# one up again (PostgreSQL checks every foreign key on commit). No constraint reads them.
_REFERRAL_KEYS_READ = ["child", "referring_agency", "referrer", "local_authority"]
_CONSENT_RULE = next(
    c for c in Referral._meta.constraints if c.name == "referral_consent_reason_required"
)


def _validated(referral: Referral, *, exclude: list[str]) -> None:
    """full_clean, with the consent constraint checked here rather than by the database:
    Django asks it with a query in a savepoint of its own, three round trips (PostgreSQL
    enforces it on the row whatever writes it)."""
    referral.full_clean(exclude=exclude, validate_constraints=False)
    if referral.consent != Referral.Consent.GIVEN and not referral.consent_reason:
        rule = ValidationError(
            _CONSENT_RULE.get_violation_error_message(), code=_CONSENT_RULE.violation_error_code
        )
        raise ValidationError({NON_FIELD_ERRORS: [rule]})


def _referral_new(
    *,
    user: User | None,
    agency: Agency,
    child: Child,
    local_authority: LocalAuthority | None,
    fields: ReferralFields,
) -> Referral:
    """A draft referral in memory (not yet saved) to the child's (or the given) authority."""
    if user is not None:
        require_capability(user=user, capability="referrals.add_referral", agency=agency)
    referral = Referral(
        child=child,
        referring_agency=agency,
        # An agency's system refers for the agency; no person is the referrer.
        referrer=None if user is None or user.is_agency_system else user,
        local_authority_id=local_authority.pk if local_authority else child.local_authority_id,
        cin_referral_source=agency.cin_referral_source,
        status=states.INITIAL,
        **fields,
    )
    if referral.referrer is not None:
        person = referral.referrer
        referral.referrer_name = referral.referrer_name or str(person)
        referral.referrer_email = referral.referrer_email or person.email
        referral.referrer_phone = referral.referrer_phone or person.phone
    return referral


@transaction.atomic
def referral_create(
    *,
    user: User | None,
    agency: Agency,
    child: Child,
    concerns: Iterable[Concern] = (),
    local_authority: LocalAuthority | None = None,
    actor_label: str = "",
    **fields: Unpack[ReferralFields],
) -> Referral:
    """Start a draft referral to the child's (or the given) local authority."""
    referral = _referral_new(
        user=user, agency=agency, child=child, local_authority=local_authority, fields=fields
    )
    _validated(referral, exclude=["team", *_REFERRAL_KEYS_READ])
    referral.save()
    concerns = list(concerns)
    if concerns:
        referral.concerns.set(concerns)
    event_add(referral, ReferralEvent.Kind.CREATED, actor=user, agency=agency)
    audit_record(
        actor=user,
        action=AuditAction.CREATE,
        target=referral,
        agency=agency,
        actor_label=actor_label,
    )
    return referral


def _submitted_tell_and_evaluate(
    referral: Referral, *, held: bool = False, standalone: bool = False
) -> None:
    """What follows every submission: the team is told, and the pattern rules run."""
    notifications_create(
        recipients=team_members(team_id=referral.team_id),
        subject="A new referral is in your queue",
        kind=NotificationKind.REFERRAL_RECEIVED,
        body=f"Referral #{referral.pk} ({referral.get_urgency_display()}) needs acknowledging.",
        referral=referral,
    )
    # A referral may complete a pattern, or repeat one the authority closed.
    pattern_flags_evaluate(
        child=referral.child, referral=referral, held=held, standalone=standalone
    )


@transaction.atomic
@audit_rows_last()
def referral_submit(
    *,
    referral: Referral,
    user: User | None,
    actor_label: str = "",
    received_at: datetime.datetime | None = None,
) -> Referral:
    """Send a draft to the receiving authority: route it, start its clocks, tell the team.

    `received_at` is for importing referrals received earlier (and the demo data); the
    clocks run from it.
    """
    # Routing, the clocks and the team's notice read these: one query, not one each.
    referral = locked_referral(referral, "local_authority", "child", "referring_agency")
    states.transition(referral, Step.SUBMIT)
    now = received_at or timezone.now()
    referral_clocks_start(referral=referral, now=now)
    # Not the check constraints again: consent was checked when the draft was made and nothing
    # here changes it; the clocks and team were set just above (PostgreSQL enforces both).
    referral.full_clean(exclude=_REFERRAL_KEYS_READ, validate_constraints=False)
    referral.save()
    event_add(
        referral,
        ReferralEvent.Kind.SUBMITTED,
        actor=user,
        agency=referral.referring_agency,
    )
    audit_record(
        actor=user,
        action=AuditAction.SUBMIT,
        target=referral,
        agency=referral.referring_agency,
        actor_label=actor_label,
        data={"team": referral.team_id, "urgency": referral.urgency},
    )
    _submitted_tell_and_evaluate(referral)
    return referral


@functools.cache
def _submission_authorities() -> QuerySet[LocalAuthority]:
    """How a submission reads its authority: with what routing, the clocks and the pattern
    rules need, in one query (built once: referrals.clocks.routing.authority_query)."""
    return authority_query(**pattern_rules_read())


def _made_and_submitted(
    *,
    user: User,
    agency: Agency,
    child: Child,
    concerns: list[Concern],
    local_authority: LocalAuthority | None,
    actor_label: str,
    fields: ReferralFields,
    held: bool = False,
    standalone: bool = False,
) -> Referral:
    """referral_create then referral_submit, as one INSERT of a referral already routed with
    its clocks running (no draft row to write, lock and rewrite). The authority is read once
    with everything routing, the clocks and the pattern rules need. The caller holds the
    transaction and an audit_rows_last() block."""
    referral = _referral_new(
        user=user, agency=agency, child=child, local_authority=local_authority, fields=fields
    )
    referral.local_authority = _submission_authorities().get(pk=referral.local_authority_id)
    states.transition(referral, Step.SUBMIT)
    referral_clocks_start(referral=referral, now=timezone.now())
    _validated(referral, exclude=["team", *_REFERRAL_KEYS_READ])
    referral.save()
    if concerns:
        referral.concerns.add(*concerns)
    ReferralEvent.objects.bulk_create(
        ReferralEvent(referral=referral, kind=kind, actor=user, agency=agency)
        for kind in (ReferralEvent.Kind.CREATED, ReferralEvent.Kind.SUBMITTED)
    )
    audit_record(
        actor=user,
        action=AuditAction.CREATE,
        target=referral,
        agency=agency,
        actor_label=actor_label,
    )
    audit_record(
        actor=user,
        action=AuditAction.SUBMIT,
        target=referral,
        agency=agency,
        actor_label=actor_label,
        data={"team": referral.team_id, "urgency": referral.urgency},
    )
    _submitted_tell_and_evaluate(referral, held=held, standalone=standalone)
    return referral


# No savepoint inside the API's transaction: a failure fails the whole submission anyway.
@transaction.atomic(savepoint=False)
@audit_rows_last()
def referral_create_and_submit(
    *,
    user: User,
    agency: Agency,
    child: Child,
    concerns: Iterable[Concern] = (),
    local_authority: LocalAuthority | None = None,
    actor_label: str = "",
    child_held: bool = False,
    standalone_child: bool = False,
    **fields: Unpack[ReferralFields],
) -> Referral:
    """Make a referral and send it in one step (an agency's system over the API).

    `child_held`: the caller locked the child's row, or recorded the child, in this
    transaction; `standalone_child`: recorded and linked to no other record, so this referral
    is all there is about them (pattern_flags_evaluate).
    """
    return _made_and_submitted(
        user=user,
        agency=agency,
        child=child,
        concerns=list(concerns),
        local_authority=local_authority,
        actor_label=actor_label,
        fields=fields,
        held=child_held,
        standalone=standalone_child,
    )


@transaction.atomic
@audit_rows_last()
def referral_send(
    *,
    user: User,
    agency: Agency,
    child: Child,
    concerns: Iterable[Concern] = (),
    draft: Draft | None = None,
    version: int = 0,
    **fields: Unpack[ReferralFields],
) -> Referral:
    """Make and submit a referral from the check-your-answers page, discarding its draft.

    With the `draft` the page showed, at the `version` it showed, the draft is held at that
    version until the referral is made, or the send is refused (code "changed") when it has
    changed or closed meanwhile: what is sent is what was checked.
    """
    if draft is not None and not draft_hold(
        user=user, kind=Draft.Kind.REFERRAL, child=child, draft_id=draft.pk, version=version
    ):
        raise ApplicationError(errors.REFERRAL_CHANGED_SINCE_CHECKED, code="changed")
    concerns = list(concerns)
    ensure(
        all(c.child_id == child.pk and c.agency_id == agency.pk for c in concerns),
        errors.PERMISSION_DENIED,
        code="permission_denied",
    )
    referral = _made_and_submitted(
        user=user,
        agency=agency,
        child=child,
        concerns=concerns,
        local_authority=None,
        actor_label="",
        fields=fields,
    )
    drafts_discard_for(user=user, kind=Draft.Kind.REFERRAL, child=child)
    return referral


@transaction.atomic
def referral_withdraw(*, referral: Referral, user: User, reason: str) -> Referral:
    """The referrer takes a referral back, before the front door has acknowledged it."""
    referral = locked_referral(referral)
    ensure(
        user_is_referrer_side(user=user, referral=referral),
        errors.PERMISSION_DENIED,
        code="permission_denied",
    )
    states.transition(referral, Step.WITHDRAW)
    ensure(bool(reason.strip()), errors.REASON_REQUIRED)
    referral.withdrawn_at = timezone.now()
    referral.withdrawal_reason = reason
    referral.next_escalation_at = None
    referral.save(
        update_fields=[
            "status",
            "withdrawn_at",
            "withdrawal_reason",
            "next_escalation_at",
            "updated_at",
        ]
    )
    event_add(
        referral,
        ReferralEvent.Kind.WITHDRAWN,
        actor=user,
        text=reason,
        agency=referral.referring_agency,
    )
    audit_record(actor=user, action=AuditAction.WITHDRAW, target=referral)
    notifications_create(
        recipients=team_members(team_id=referral.team_id),
        subject="A referral was withdrawn",
        kind=NotificationKind.OTHER,
        body=f"Referral #{referral.pk} was withdrawn by the referrer.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_transfer(
    *, referral: Referral, user: User, to_authority: LocalAuthority, reason: str
) -> Referral:
    """Move a referral to another authority's queue with fresh deadlines.

    The original stays, marked transferred, so the sending team keeps read access to what it
    did; the receiving authority gets a new referral linked to it.
    """
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.transfer_referral"
    )
    states.transition(referral, Step.TRANSFER)
    ensure(
        to_authority.pk != referral.local_authority_id,
        errors.REFERRAL_TRANSFER_SAME_AUTHORITY,
    )
    ensure(bool(reason.strip()), errors.REASON_REQUIRED)
    now = timezone.now()
    successor = Referral(
        child=referral.child,
        referring_agency=referral.referring_agency,
        referrer=referral.referrer,
        referrer_name=referral.referrer_name,
        referrer_phone=referral.referrer_phone,
        referrer_email=referral.referrer_email,
        cin_referral_source=referral.cin_referral_source,
        local_authority=to_authority,
        transferred_from=referral,
        urgency=referral.urgency,
        category=referral.category,
        factors=referral.factors,
        reason=referral.reason,
        desired_outcome=referral.desired_outcome,
        consent=referral.consent,
        consent_reason=referral.consent_reason,
        parents_aware=referral.parents_aware,
    )
    # The successor is submitted to the new authority the one way any referral is.
    states.transition(successor, Step.SUBMIT)
    referral_clocks_start(referral=successor, now=now)
    successor.save()
    successor.concerns.set(referral.concerns.all())
    referral.next_escalation_at = None
    referral.save(update_fields=["status", "next_escalation_at", "updated_at"])
    agency = receiving_agency(referral)
    event_add(referral, ReferralEvent.Kind.TRANSFERRED, actor=user, text=reason, agency=agency)
    event_add(successor, ReferralEvent.Kind.SUBMITTED, actor=user, text=reason, agency=agency)
    audit_record(
        actor=user,
        action=AuditAction.TRANSFER,
        target=referral,
        data={"to": successor.pk},
    )
    audit_record(
        actor=user,
        action=AuditAction.SUBMIT,
        target=successor,
        data={"from": referral.pk},
    )
    notifications_create(
        recipients=team_members(team_id=successor.team_id),
        subject="A referral was transferred to your queue",
        kind=NotificationKind.TRANSFERRED,
        body=f"Referral #{successor.pk} was transferred from another authority.",
        referral=successor,
    )
    return successor
