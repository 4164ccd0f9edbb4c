"""API representations. Read serializers are flat and fed by select_related only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agencies.models import Agency, Team
from referrals.choices import CinCategory, Factor, Urgency
from referrals.models import Child, Decision, Referral, ReferralEvent, Sex
from referrals.selectors import (
    Audience,
    event_text_for,
    referral_audience,
    referral_events_for_audience,
)
from referrals.validators import NHS_NUMBER_INVALID, UPN_INVALID, nhs_number_is_valid, upn_is_valid


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
        data = super().to_representation(instance)
        if not hasattr(instance, "decision"):
            data["decision"] = None
        if referral_audience(user=self.context["user"], referral=instance) == Audience.PARTNER:
            if data["decision"] is not None:
                data["decision"]["feedback"] = None
            data["escalation_level"] = None
        return data


class ReferralDetailSerializer(ReferralSerializer):
    events = serializers.SerializerMethodField()

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "events"]
        read_only_fields = fields

    def get_events(self, instance: Referral) -> list[dict[str, Any]]:
        audience = referral_audience(user=self.context["user"], referral=instance)
        events = referral_events_for_audience(instance.events.select_related("agency"), audience)
        return EventSerializer(  # type: ignore[return-value]
            events, many=True, context={"audience": audience}
        ).data


class ChildInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A known child by id, or the details of a child to find or record."""

    id = serializers.IntegerField(required=False, min_value=1)
    first_name = serializers.CharField(required=False, max_length=100)
    last_name = serializers.CharField(required=False, max_length=100)
    other_names = serializers.CharField(required=False, max_length=200, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    expected_date_of_birth = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    address = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    postcode = serializers.CharField(required=False, allow_blank=True, max_length=8)
    nhs_number = serializers.CharField(required=False, allow_blank=True, max_length=12)
    upn = serializers.CharField(required=False, allow_blank=True, max_length=13)

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


class ReferralCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """What a partner agency's system sends: its shape. The rules are the browser form's."""

    child = ChildInputSerializer()
    referring_agency = serializers.IntegerField(required=False, min_value=1)
    local_authority = serializers.IntegerField(required=False, min_value=1)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    category = serializers.ChoiceField(
        choices=CinCategory.choices, required=False, allow_blank=True
    )
    factors = serializers.ListField(
        child=serializers.ChoiceField(choices=Factor.choices), required=False, max_length=20
    )
    reason = serializers.CharField(max_length=20_000)
    desired_outcome = serializers.CharField(max_length=20_000)
    consent = serializers.ChoiceField(choices=Referral.Consent.choices)
    consent_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5_000,
        help_text="Required when consent was refused or not sought.",
    )
    parents_aware = serializers.ChoiceField(choices=Referral.ParentsAware.choices)
    referrer_name = serializers.CharField(max_length=200)
    referrer_phone = serializers.CharField(max_length=32)
    referrer_email = serializers.EmailField()


class AgencyDirectorySerializer(serializers.ModelSerializer[Agency]):
    teams = TeamRefSerializer(many=True, read_only=True)
    local_authority = serializers.CharField(source="local_authority.name")

    class Meta:
        model = Agency
        fields = ["id", "name", "kind", "local_authority", "urn", "ods_code", "teams"]
        read_only_fields = fields
