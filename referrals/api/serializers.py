"""API representations. Read serializers are flat: fed by select_related, or by one values() row."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers

from agencies.models import Agency, Team
from referrals.api.contract import NO_NUL, NOT_BLANK
from referrals.api.queries import MAX_ID
from referrals.core.choices import CinCategory, Factor, Urgency
from referrals.core.validators import (
    NHS_NUMBER_INVALID,
    UPN_INVALID,
    nhs_number_is_valid,
    upn_is_valid,
)
from referrals.models import Child, Decision, Referral, ReferralEvent, Sex
from referrals.visibility import (
    Audience,
    event_text_for,
    referral_audience,
    referral_events_for_audience,
)


class AgencyRefSerializer(serializers.Serializer[Agency]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TeamRefSerializer(serializers.Serializer[Team]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ChildSerializer(serializers.ModelSerializer[Child]):
    class Meta:
        model = Child
        fields = [
            "id",
            "first_name",
            "last_name",
            "other_names",
            "date_of_birth",
            "expected_date_of_birth",
            "sex",
            "postcode",
            "nhs_number",
            "upn",
            "local_authority",
            "updated_at",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.ModelSerializer[Decision]):
    category = serializers.ChoiceField(
        choices=CinCategory.choices, allow_blank=True, read_only=True
    )
    # Null for an agency the referral is shared with: the feedback is for the referrer.
    feedback = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Decision
        fields = ["outcome", "decided_at", "feedback", "category", "factors"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer[ReferralEvent]):
    agency = serializers.CharField(source="agency.name", default=None, allow_null=True)
    text = serializers.SerializerMethodField()

    class Meta:
        model = ReferralEvent
        fields = ["kind", "created_at", "agency", "text"]
        read_only_fields = fields

    def get_text(self, event: ReferralEvent) -> str:
        return event_text_for(event, self.context["audience"])


class ReferralSerializer(serializers.ModelSerializer[Referral]):
    child = ChildSerializer(read_only=True)
    referring_agency = AgencyRefSerializer(read_only=True)
    local_authority = AgencyRefSerializer(read_only=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    decision = DecisionSerializer(read_only=True, allow_null=True, default=None)
    # Blank where not known: declared so the schema says so.
    category = serializers.ChoiceField(
        choices=CinCategory.choices, allow_blank=True, read_only=True
    )
    referrer_email = serializers.CharField(read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "status",
            "urgency",
            "category",
            "factors",
            "reason",
            "desired_outcome",
            "consent",
            "consent_reason",
            "parents_aware",
            "cin_referral_source",
            "child",
            "referring_agency",
            "referrer_name",
            "referrer_phone",
            "referrer_email",
            "local_authority",
            "team",
            "transferred_from",
            "submitted_at",
            "acknowledged_at",
            "decided_at",
            "acknowledge_due_at",
            "decision_due_at",
            "escalation_level",
            "decision",
            "updated_at",
        ]
        read_only_fields = fields

    escalation_level = serializers.IntegerField(read_only=True, allow_null=True)

    def to_representation(self, instance: Referral) -> dict[str, Any]:
        """The referral as this reader may see it: partners get what the pages show them."""
        return referral_representation(
            referral_row(instance),
            audience=referral_audience(user=self.context["user"], referral=instance),
            zone=timezone.get_current_timezone(),
        )


# The fields declared above say what a referral looks like (and make the schema); the
# representation itself is built from one flat row by `referral_representation`, because DRF's
# per-field machinery cost more than the query behind a page. The list reads these lookups with
# `values()`; a single referral is flattened into the same row by `referral_row`.
REFERRAL_COLUMNS = (
    "id",
    "status",
    "urgency",
    "category",
    "factors",
    "reason",
    "desired_outcome",
    "consent",
    "consent_reason",
    "parents_aware",
    "cin_referral_source",
    "child_id",
    "child__first_name",
    "child__last_name",
    "child__other_names",
    "child__date_of_birth",
    "child__expected_date_of_birth",
    "child__sex",
    "child__postcode",
    "child__nhs_number",
    "child__upn",
    "child__local_authority_id",
    "child__updated_at",
    "referring_agency_id",
    "referring_agency__name",
    "referrer_id",
    "referrer_name",
    "referrer_phone",
    "referrer_email",
    "local_authority_id",
    "local_authority__name",
    "team_id",
    "team__name",
    "transferred_from_id",
    "submitted_at",
    "acknowledged_at",
    "decided_at",
    "acknowledge_due_at",
    "decision_due_at",
    "escalation_level",
    "decision__id",
    "decision__outcome",
    "decision__decided_at",
    "decision__feedback",
    "decision__category",
    "decision__factors",
    "updated_at",
)
# What `referral_audience` and the audit read from a referral: a row loads as just these, in
# the model's field order (the order `from_db` takes them in). Reading any other field would
# cost a query per row, which the list's query-count test would show.
_AUDIENCE_FIELDS = tuple(
    field.attname
    for field in Referral._meta.concrete_fields
    if field.attname
    in {"id", "status", "local_authority_id", "team_id", "referrer_id", "referring_agency_id"}
)


def referral_row(referral: Referral) -> dict[str, Any]:
    """A referral flattened into the row the list reads (a missing relation gives None)."""
    row: dict[str, Any] = {}
    for lookup in REFERRAL_COLUMNS:
        value: Any = referral
        for name in lookup.split("__"):
            # A reverse one-to-one with no row raises a subclass of AttributeError.
            value = getattr(value, name, None)
        row[lookup] = value
    return row


def referral_from_row(row: Mapping[str, Any]) -> Referral:
    """The referral a row describes, loaded with what the audience and the audit read."""
    return Referral.from_db(None, _AUDIENCE_FIELDS, [row[name] for name in _AUDIENCE_FIELDS])


def _datetime(value: datetime.datetime | None, zone: datetime.tzinfo) -> str | None:
    """As DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def referral_representation(
    row: Mapping[str, Any], *, audience: Audience, zone: datetime.tzinfo
) -> dict[str, Any]:
    """What ReferralSerializer declares, from one row; a partner sees no feedback or level."""
    partner = audience == Audience.PARTNER
    decision = None
    if row["decision__id"] is not None:
        decision = {
            "outcome": row["decision__outcome"],
            "decided_at": _datetime(row["decision__decided_at"], zone),
            "feedback": None if partner else row["decision__feedback"],
            "category": row["decision__category"],
            "factors": row["decision__factors"],
        }
    team_id = row["team_id"]
    return {
        "id": row["id"],
        "status": row["status"],
        "urgency": row["urgency"],
        "category": row["category"],
        "factors": row["factors"],
        "reason": row["reason"],
        "desired_outcome": row["desired_outcome"],
        "consent": row["consent"],
        "consent_reason": row["consent_reason"],
        "parents_aware": row["parents_aware"],
        "cin_referral_source": row["cin_referral_source"],
        "child": {
            "id": row["child_id"],
            "first_name": row["child__first_name"],
            "last_name": row["child__last_name"],
            "other_names": row["child__other_names"],
            "date_of_birth": _date(row["child__date_of_birth"]),
            "expected_date_of_birth": _date(row["child__expected_date_of_birth"]),
            "sex": row["child__sex"],
            "postcode": row["child__postcode"],
            "nhs_number": row["child__nhs_number"],
            "upn": row["child__upn"],
            "local_authority": row["child__local_authority_id"],
            "updated_at": _datetime(row["child__updated_at"], zone),
        },
        "referring_agency": {
            "id": row["referring_agency_id"],
            "name": row["referring_agency__name"],
        },
        "referrer_name": row["referrer_name"],
        "referrer_phone": row["referrer_phone"],
        "referrer_email": row["referrer_email"],
        "local_authority": {
            "id": row["local_authority_id"],
            "name": row["local_authority__name"],
        },
        "team": None if team_id is None else {"id": team_id, "name": row["team__name"]},
        "transferred_from": row["transferred_from_id"],
        "submitted_at": _datetime(row["submitted_at"], zone),
        "acknowledged_at": _datetime(row["acknowledged_at"], zone),
        "decided_at": _datetime(row["decided_at"], zone),
        "acknowledge_due_at": _datetime(row["acknowledge_due_at"], zone),
        "decision_due_at": _datetime(row["decision_due_at"], zone),
        "escalation_level": None if partner else row["escalation_level"],
        "decision": decision,
        "updated_at": _datetime(row["updated_at"], zone),
    }


class ReferralDetailSerializer(ReferralSerializer):
    events = serializers.SerializerMethodField()

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "events"]
        read_only_fields = fields

    def to_representation(self, instance: Referral) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["events"] = self.get_events(instance)
        return data

    def get_events(self, instance: Referral) -> list[dict[str, Any]]:
        audience = referral_audience(user=self.context["user"], referral=instance)
        events = referral_events_for_audience(instance.events.select_related("agency"), audience)
        return EventSerializer(  # type: ignore[return-value]
            events, many=True, context={"audience": audience}
        ).data


def text(max_length: int, *, required: bool = True, **kwargs: Any) -> serializers.CharField:
    """Text the API takes: bounded, never a NUL, and (unless blank is allowed) not only spaces."""
    pattern = NO_NUL if kwargs.get("allow_blank") else NOT_BLANK
    return serializers.CharField(
        max_length=max_length,
        required=required,
        validators=[RegexValidator(pattern, "Enter some text.")],
        **kwargs,
    )


class ChildInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A known child by id, or the details of a child to find or record."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    first_name = text(100, required=False)
    last_name = text(100, required=False)
    other_names = text(200, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    expected_date_of_birth = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    address = text(1000, required=False, allow_blank=True)
    postcode = text(8, required=False, allow_blank=True)
    nhs_number = text(12, required=False, allow_blank=True)
    upn = text(13, required=False, allow_blank=True)

    def validate_nhs_number(self, value: str) -> str:
        digits = "".join(value.split())
        if digits and not nhs_number_is_valid(digits):
            raise serializers.ValidationError(NHS_NUMBER_INVALID)
        return digits

    def validate_upn(self, value: str) -> str:
        upn = value.strip().upper()
        if upn and not upn_is_valid(upn):
            raise serializers.ValidationError(UPN_INVALID)
        return upn

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("id") is not None:
            return {"id": attrs["id"]}
        missing = [f for f in ("first_name", "last_name") if not attrs.get(f)]
        if missing:
            raise serializers.ValidationError(
                {f: ["Give the child's id, or their first and last names."] for f in missing}
            )
        if attrs.get("date_of_birth") and attrs.get("expected_date_of_birth"):
            raise serializers.ValidationError(
                {"expected_date_of_birth": ["Give a date of birth or an expected date, not both."]}
            )
        return attrs


class ReferralSearchSerializer(serializers.Serializer[dict[str, Any]]):
    """Look a child's referrals up by NHS number: in the body, never in an address."""

    nhs_number = text(12, help_text="Ten digits; spaces allowed (943 476 5919).")

    def validate_nhs_number(self, value: str) -> str:
        digits = "".join(value.split())
        if not nhs_number_is_valid(digits):
            raise serializers.ValidationError(NHS_NUMBER_INVALID)
        return digits


class ReferralCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """What a partner agency's system sends: its shape. The rules are the browser form's."""

    child = ChildInputSerializer()
    referring_agency = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    local_authority = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    category = serializers.ChoiceField(
        choices=CinCategory.choices, required=False, allow_blank=True
    )
    factors = serializers.ListField(
        child=serializers.ChoiceField(choices=Factor.choices), required=False, max_length=20
    )
    reason = text(20_000)
    desired_outcome = text(20_000)
    consent = serializers.ChoiceField(choices=Referral.Consent.choices)
    consent_reason = text(
        5_000,
        required=False,
        allow_blank=True,
        help_text="Required when consent was refused or not sought.",
    )
    parents_aware = serializers.ChoiceField(choices=Referral.ParentsAware.choices)
    referrer_name = text(200)
    referrer_phone = text(32)
    referrer_email = serializers.EmailField(max_length=254)


class AgencyDirectorySerializer(serializers.ModelSerializer[Agency]):
    teams = TeamRefSerializer(many=True, read_only=True)
    local_authority = serializers.CharField(source="local_authority.name")

    class Meta:
        model = Agency
        fields = ["id", "name", "kind", "local_authority", "urn", "ods_code", "teams"]
        read_only_fields = fields
