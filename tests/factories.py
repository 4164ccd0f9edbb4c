"""factory_boy factories for every model, with a subclass per referral state.

Factories make test fixtures quickly; tests of behaviour call the services themselves.
"""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.utils import timezone

from agencies import models as agency_models
from referrals.casework.referrals import referral_create, referral_submit
from referrals.core.choices import Urgency
from referrals.core.states import Clock
from referrals.models import (
    AuditAction,
    AuditEvent,
    Child,
    Concern,
    Decision,
    Escalation,
    Notification,
    Referral,
    ReferralEvent,
    Sex,
    Share,
)


class LocalAuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.LocalAuthority
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Authority {n}")
    ons_code = factory.Sequence(lambda n: f"E0690{n:04d}")
    front_door_phone = "01632 960001"


class ClosureDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.ClosureDay

    local_authority = factory.SubFactory(LocalAuthorityFactory)
    date = datetime.date(2026, 12, 29)
    reason = "Office closed"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.Agency
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Agency {n}")
    kind = agency_models.AgencyKind.SCHOOL
    local_authority = factory.SubFactory(LocalAuthorityFactory)

    @factory.post_generation
    def with_group(obj: agency_models.Agency, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            from referrals.casework.sharing import agency_group

            agency_group(obj)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.Team

    agency = factory.SubFactory(AgencyFactory, kind=agency_models.AgencyKind.CHILDRENS_SOCIAL_CARE)
    name = factory.Sequence(lambda n: f"Team {n}")
    kind = agency_models.TeamKind.TRIAGE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    password = factory.django.Password("correct-horse-battery-staple")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
    team = None
    role = agency_models.Role.STAFF


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = agency_models.RoutingRule

    local_authority = factory.SubFactory(LocalAuthorityFactory)
    team = factory.SubFactory(TeamFactory)
    position = 100


class ChildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Child

    first_name = factory.Sequence(lambda n: f"Child{n}")
    last_name = "Example"
    date_of_birth = datetime.date(2015, 6, 1)
    sex = Sex.UNKNOWN
    postcode = "NS1 1AA"
    created_by_agency = factory.SubFactory(AgencyFactory)
    local_authority = factory.SelfAttribute("created_by_agency.local_authority")


class ConcernFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Concern

    agency = factory.SubFactory(AgencyFactory)
    child = factory.SubFactory(ChildFactory, created_by_agency=factory.SelfAttribute("..agency"))
    raised_by = factory.SubFactory(UserFactory)
    observed_at = factory.LazyFunction(timezone.now)
    what_happened = "Arrived at school hungry."


class ReviewedConcernFactory(ConcernFactory):
    status = Concern.Status.REVIEWED
    review_outcome = Concern.Outcome.REFER
    review_rationale = "Second concern this week."
    reviewed_by = factory.SubFactory(UserFactory)
    reviewed_at = factory.LazyFunction(timezone.now)


class ReferralFactory(factory.django.DjangoModelFactory):
    """A draft."""

    class Meta:
        model = Referral

    referring_agency = factory.SubFactory(AgencyFactory)
    child = factory.SubFactory(
        ChildFactory, created_by_agency=factory.SelfAttribute("..referring_agency")
    )
    referrer = factory.SubFactory(UserFactory)
    referrer_name = "A Referrer"
    cin_referral_source = "2A"
    local_authority = factory.SelfAttribute("child.local_authority")
    urgency = Urgency.STANDARD
    reason = "Repeated signs of neglect."
    consent = Referral.Consent.GIVEN
    status = Referral.Status.DRAFT


class SubmittedReferralFactory(ReferralFactory):
    status = Referral.Status.SUBMITTED
    team = factory.SubFactory(
        TeamFactory,
        agency__local_authority=factory.SelfAttribute("...local_authority"),
    )
    submitted_at = factory.LazyFunction(timezone.now)
    acknowledge_due_at = factory.LazyAttribute(
        lambda o: o.submitted_at + datetime.timedelta(days=1)
    )
    decision_due_at = factory.SelfAttribute("acknowledge_due_at")
    next_escalation_at = factory.SelfAttribute("acknowledge_due_at")


class AcknowledgedReferralFactory(SubmittedReferralFactory):
    status = Referral.Status.ACKNOWLEDGED
    acknowledged_at = factory.LazyFunction(timezone.now)
    owner = factory.SubFactory(UserFactory)
    next_escalation_at = factory.SelfAttribute("decision_due_at")


class InformationRequestedReferralFactory(AcknowledgedReferralFactory):
    status = Referral.Status.INFORMATION_REQUESTED


class DecidedReferralFactory(AcknowledgedReferralFactory):
    status = Referral.Status.DECIDED
    decided_at = factory.LazyFunction(timezone.now)
    next_escalation_at: Any = None


class ClosedReferralFactory(DecidedReferralFactory):
    status = Referral.Status.CLOSED
    closed_at = factory.LazyFunction(timezone.now)


class WithdrawnReferralFactory(SubmittedReferralFactory):
    status = Referral.Status.WITHDRAWN
    withdrawn_at = factory.LazyFunction(timezone.now)
    withdrawal_reason = "Sent in error."
    next_escalation_at: Any = None


class ReferralEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralEvent

    referral = factory.SubFactory(SubmittedReferralFactory)
    kind = ReferralEvent.Kind.NOTE
    text = "A message."


class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Decision

    referral = factory.SubFactory(DecidedReferralFactory)
    outcome = Decision.Outcome.EARLY_HELP
    rationale = "Needs are below the threshold for statutory services."
    feedback = "Early help will contact the family."
    decided_by = factory.SubFactory(UserFactory)
    decided_at = factory.LazyFunction(timezone.now)


class ShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Share

    referral = factory.SubFactory(DecidedReferralFactory)
    agency = factory.SubFactory(AgencyFactory, kind=agency_models.AgencyKind.HEALTH)
    reason = "Strategy discussion."
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))
    granted_by = factory.SubFactory(UserFactory)


class EscalationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Escalation

    referral = factory.SubFactory(SubmittedReferralFactory)
    clock = Clock.ACKNOWLEDGE
    level = 1
    due_at = factory.LazyFunction(timezone.now)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    subject = "A referral needs you"
    body = "Referral #1 needs acknowledging."
    # In the app and by email, the email waiting for the relay; `in_app_only=True`: no email.
    in_app = True
    email_status = Notification.EmailStatus.PENDING
    email_next_attempt_at = factory.LazyFunction(timezone.now)

    class Params:
        in_app_only = factory.Trait(
            email_status=Notification.EmailStatus.NONE, email_next_attempt_at=None
        )


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = AuditAction.VIEW
    target_type = "referrals.referral"
    target_id = "1"


def referral_sent(*, agency: Any, referrer: Any, **fields: Any) -> Referral:
    """A referral a school's DSL sent about Amy, through the real services: waiting in the queue
    of the authority's front door. `fields` override what the referral says."""
    child = fields.pop("child", None) or ChildFactory.create(
        created_by_agency=agency, first_name="Amy", last_name="Example"
    )
    says = {
        "urgency": "urgent",
        "category": "physical",
        "reason": "Bruising on her arm.",
        "desired_outcome": "A strategy discussion.",
        "consent": Referral.Consent.GIVEN,
        **fields,
    }
    referral = referral_create(user=referrer, agency=agency, child=child, **says)
    return referral_submit(referral=referral, user=referrer)
