"""The agencies' API: one small view per operation, scoped by the same selectors as the pages.

Every record returned is audited, one event per record, written in one INSERT.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from agencies.models import Agency, LocalAuthority, User
from referrals.api.auth import AgencyClientAuthentication, ScopeOrVerifiedSession
from referrals.api.contract import body_check
from referrals.api.feed import feed_page
from referrals.api.queries import MAX_PAGE_SIZE, FeedQuery, ReferralQuery, query_of
from referrals.api.serializers import (
    REFERRAL_COLUMNS,
    AgencyDirectorySerializer,
    ChildSerializer,
    ReferralCreateSerializer,
    ReferralDetailSerializer,
    ReferralSearchSerializer,
    ReferralSerializer,
    referral_from_row,
    referral_representation,
)
from referrals.audit import api_actor_label, audit_record_many
from referrals.casework.partners import (
    IdempotentReplay,
    referral_submit_for_agency,
    referring_agency_for,
)
from referrals.casework.referrals import ReferralFields
from referrals.casework.sharing import share_acknowledge_receipt
from referrals.models import AuditAction, Referral
from referrals.visibility import (
    child_get_for_user,
    child_list_for_user,
    referral_audience,
    referral_get_for_user,
    referral_list_for_user,
    scope_for_user,
)
from referrals.web.forms.referrals import ReferralForm

# What a referral's representation reads alongside it, in the same query.
REFERRAL_ROW = ("child", "referring_agency", "local_authority", "team", "decision")
NHS_LOOKUP_FOR_AUTHORITIES = "Look-up by NHS number is for local authorities only."

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA = inline_serializer(
    "Problem",
    {
        "type": serializers.CharField(help_text="A stable URI reference: switch on this."),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "instance": serializers.CharField(required=False),
        "errors": serializers.DictField(
            required=False, help_text="Each field's messages (validation problems)."
        ),
    },
)
# What each error status means here; its body is an RFC 9457 problem.
ERROR_MEANINGS = {
    400: "The request is not valid (/api/problems/validation): `errors` names each field.",
    401: "No valid credentials (/api/problems/unauthenticated).",
    403: "Not allowed: the token's scope, or the caller's role (/api/problems/forbidden).",
    404: "No such record, or not one the caller may see (/api/problems/not-found).",
    409: "The record's state does not allow it (/api/problems/state or /not-shared).",
    413: "The request body is too large (/api/problems/too-large).",
    415: "The body is not JSON (/api/problems/unsupported-media-type).",
    422: "The Idempotency-Key was used with another body (/api/problems/idempotency-key-reused).",
    429: "Too many requests (/api/problems/throttled); see Retry-After.",
}


def problems(*statuses: int) -> dict[Any, OpenApiResponse]:
    """Error responses, declared as application/problem+json with what each means."""
    return {
        (status_code, PROBLEM_MEDIA_TYPE): OpenApiResponse(
            response=PROBLEM_SCHEMA, description=ERROR_MEANINGS[status_code]
        )
        for status_code in statuses
    }


COMMON_ERRORS = problems(400, 401, 403, 429)
BODY_ERRORS = problems(413, 415)


class ClientThrottle(UserRateThrottle):
    """Per client (each agency system and each person has its own bucket)."""

    scope = "api_client"

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)


class ApiView(APIView):
    authentication_classes = [AgencyClientAuthentication, *APIView.authentication_classes]
    permission_classes = [ScopeOrVerifiedSession]
    throttle_classes = [ClientThrottle]
    write_methods: tuple[str, ...] = ()

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Personal data: never kept by a browser or a proxy.
        response["Cache-Control"] = "no-store"
        return response


def _user(request: Request) -> User:
    """The caller; the permission classes have already refused anyone unauthenticated."""
    return cast(User, request.user)


def _audit_reads(request: Request, records: list[Any], action: str = AuditAction.VIEW) -> None:
    if records:
        audit_record_many(
            actor=_user(request),
            action=AuditAction(action),
            targets=records,
            actor_label=api_actor_label(_user(request)),
        )


def _page_response(request: Request, serializer: Any, rows: list[Any], cursor: str) -> Response:
    data = serializer(rows, many=True, context={"user": request.user}).data
    return Response({"results": data, "next_cursor": cursor})


CHILD_EXAMPLE = {
    "id": 7,
    "first_name": "Ben",
    "last_name": "Sample",
    "other_names": "",
    "date_of_birth": "2015-07-02",
    "expected_date_of_birth": None,
    "sex": "male",
    "postcode": "NS1 2BB",
    "nhs_number": "",
    "upn": "",
    "local_authority": 1,
    "updated_at": "2026-11-23T10:15:00Z",
}
REFERRAL_EXAMPLE = {
    "id": 41,
    "status": "decided",
    "urgency": "urgent",
    "category": "neglect",
    "factors": [],
    "reason": "Repeated signs of neglect seen over several weeks.",
    "desired_outcome": "An assessment of the family's needs.",
    "consent": "given",
    "consent_reason": "",
    "parents_aware": "yes",
    "cin_referral_source": "2A",
    "child": CHILD_EXAMPLE,
    "referring_agency": {"id": 3, "name": "Riverside Primary School"},
    "referrer_name": "Dina Lead",
    "referrer_phone": "01632 960999",
    "referrer_email": "dsl@riverside.example",
    "local_authority": {"id": 1, "name": "Northshire"},
    "team": {"id": 1, "name": "Front Door"},
    "transferred_from": None,
    "submitted_at": "2026-11-23T09:05:00Z",
    "acknowledged_at": "2026-11-23T09:40:00Z",
    "decided_at": "2026-11-23T14:00:00Z",
    "acknowledge_due_at": "2026-11-24T09:05:00Z",
    "decision_due_at": "2026-11-24T09:05:00Z",
    "escalation_level": 0,
    "decision": {
        "outcome": "s17",
        "decided_at": "2026-11-23T14:00:00Z",
        "feedback": "We will assess the family's needs; thank you for referring.",
        "category": "neglect",
        "factors": [],
    },
    "updated_at": "2026-11-23T14:00:00Z",
}
NEXT_CURSOR_EXAMPLE = "1795442400000000.41"


def _example(name: str, value: Any) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True)


def _results_schema(item: Any, name: str) -> Any:
    return inline_serializer(name, {"results": item(many=True)})


def _feed_schema(item: Any, name: str) -> Any:
    return inline_serializer(
        name, {"results": item(many=True), "next_cursor": serializers.CharField()}
    )


def _referral_fields(data: dict[str, Any]) -> ReferralFields:
    """The referral's own fields, checked by the same rules as the browser's referral form."""
    form = ReferralForm(
        data={name: data.get(name, "") for name in ReferralForm.base_fields},
        concern_choices=[],
    )
    if not form.is_valid():
        raise ValidationError(
            {field: [str(error) for error in errors] for field, errors in form.errors.items()}
        )
    return form.referral_fields()


class ReferralsView(ApiView):
    write_methods = ("POST",)

    @extend_schema(
        operation_id="referrals_list",
        summary="Referrals your agency may see, oldest change first",
        parameters=[ReferralQuery],
        responses={200: _feed_schema(ReferralSerializer, "ReferralPage"), **COMMON_ERRORS},
        examples=[
            _example("A page", {"results": [REFERRAL_EXAMPLE], "next_cursor": NEXT_CURSOR_EXAMPLE})
        ],
    )
    def get(self, request: Request) -> Response:
        query = query_of(ReferralQuery, request)
        queryset = _filtered(referral_list_for_user(user=_user(request)), query)
        # Flat rows of just what the representation reads: a page of models with their related
        # models cost more to build than the query behind it.
        page = feed_page(
            queryset.values(*REFERRAL_COLUMNS),
            cursor=query.get("cursor"),
            updated_after=query.get("updated_after"),
            size=query["page_size"],
        )
        results = _representations(request, page.rows)
        return Response({"results": results, "next_cursor": page.next_cursor})

    @extend_schema(
        operation_id="referrals_create",
        summary="Make and submit a referral for your agency",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retry with the same key and body: the first referral is returned.",
            )
        ],
        request=ReferralCreateSerializer,
        responses={
            201: ReferralSerializer,
            **problems(404, 409, 422),
            **COMMON_ERRORS,
            **BODY_ERRORS,
        },
        examples=[
            OpenApiExample(
                "A police referral",
                value={
                    "child": {
                        "first_name": "Cara",
                        "last_name": "Specimen",
                        "date_of_birth": "2012-11-30",
                        "sex": "female",
                    },
                    "urgency": "urgent",
                    "category": "physical",
                    "factors": ["domestic_abuse"],
                    "reason": "Officers attended a domestic incident; the child was present.",
                    "consent": "not_sought",
                    "consent_reason": "Seeking consent could put the child at risk.",
                    "parents_aware": "no",
                    "referrer_name": "PC Olive Officer",
                    "referrer_phone": "01632 960555",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ReferralCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        fields = _referral_fields(data)
        # Then the schema itself, to the letter (the serializer strips spaces before it counts).
        body_check("ReferralCreateRequest", request.data)
        agency = referring_agency_for(user=_user(request), agency_id=data.get("referring_agency"))
        authority_id = data.get("local_authority")
        authority = (
            get_object_or_404(LocalAuthority, pk=authority_id) if authority_id is not None else None
        )
        key = request.headers.get("Idempotency-Key", "").strip()[:255] or None
        body = json.dumps(request.data, sort_keys=True, default=str).encode()
        try:
            referral = referral_submit_for_agency(
                user=_user(request),
                agency=agency,
                child=data["child"],
                local_authority=authority,
                idempotency_key=key,
                request_hash=hashlib.sha256(body).hexdigest(),
                **fields,
            )
            replayed = False
        except IdempotentReplay as replay:
            referral, replayed = replay.referral, True
        return _created(request, referral, replayed=replayed)


def _created(request: Request, referral: Referral, *, replayed: bool) -> Response:
    """201 with the referral. One made just now is written from the rows just written, all in
    hand (its maker always sees what its agency refers); a replay is read back through the
    selector, as every answer is."""
    if replayed:
        referral = (
            referral_list_for_user(user=_user(request))
            .select_related(*REFERRAL_ROW)
            .get(pk=referral.pk)
        )
    else:
        # Nothing is decided yet: no query to find no decision.
        Referral.decision.related.set_cached_value(referral, None)
    response = Response(
        ReferralSerializer(referral, context={"user": request.user}).data,
        status=status.HTTP_201_CREATED,
    )
    response["Location"] = f"/api/v1/referrals/{referral.pk}/"
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _filtered(queryset: QuerySet[Referral], query: dict[str, Any]) -> QuerySet[Referral]:
    for name in ("status", "urgency"):
        if name in query:
            queryset = queryset.filter(**{name: query[name]})
    if "team" in query:
        queryset = queryset.filter(team_id=query["team"])
    return queryset


def _representations(request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each referral row as its reader may see it; the reads audited as one list."""
    referrals = [referral_from_row(row) for row in rows]
    _audit_reads(request, referrals, AuditAction.LIST)
    zone = timezone.get_current_timezone()
    return [
        referral_representation(
            row, audience=referral_audience(user=_user(request), referral=referral), zone=zone
        )
        for row, referral in zip(rows, referrals, strict=True)
    ]


class ReferralSearchView(ApiView):
    # A look-up, not a write: the read scope. POST keeps the NHS number out of every URL (and
    # so out of access logs, proxies and browser history).
    write_methods = ()

    @extend_schema(
        operation_id="referrals_search",
        summary="Referrals your authority received about a child, by NHS number",
        description="For local authorities' children's social care only.",
        request=ReferralSearchSerializer,
        responses={
            200: _results_schema(ReferralSerializer, "ReferralSearchResult"),
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample("A search", value={"nhs_number": "943 476 5919"}, request_only=True),
            _example("Found", {"results": [REFERRAL_EXAMPLE]}),
        ],
    )
    def post(self, request: Request) -> Response:
        scope = scope_for_user(_user(request))
        if not (scope.team_ids or scope.authority_ids):
            raise PermissionDenied(NHS_LOOKUP_FOR_AUTHORITIES)
        search = ReferralSearchSerializer(data=request.data)
        search.is_valid(raise_exception=True)
        body_check("ReferralSearchRequest", request.data)
        # Only referrals the person receives as the authority, not ones shared with them.
        rows = (
            referral_list_for_user(user=_user(request))
            .filter(
                Q(team_id__in=scope.team_ids) | Q(local_authority_id__in=scope.authority_ids),
                child__nhs_number=search.validated_data["nhs_number"],
            )
            .order_by("updated_at", "id")
            .values(*REFERRAL_COLUMNS)[:MAX_PAGE_SIZE]
        )
        return Response({"results": _representations(request, list(rows))})


class ReferralDetailView(ApiView):
    @extend_schema(
        operation_id="referrals_retrieve",
        summary="One referral with its timeline and decision",
        responses={200: ReferralDetailSerializer, **problems(404), **COMMON_ERRORS},
        examples=[
            _example(
                "A decided referral",
                {
                    **REFERRAL_EXAMPLE,
                    "events": [
                        {
                            "kind": "submitted",
                            "created_at": "2026-11-23T09:05:00Z",
                            "agency": "Riverside Primary School",
                            "text": "",
                        },
                        {
                            "kind": "feedback",
                            "created_at": "2026-11-23T14:00:00Z",
                            "agency": "Northshire Children's Services",
                            "text": "We will assess the family's needs; thank you for referring.",
                        },
                    ],
                },
            ),
            _example(
                "Not found",
                {
                    "type": "/api/problems/not-found",
                    "title": "Not found.",
                    "status": 404,
                    "detail": "Not found.",
                    "instance": "/api/v1/referrals/999/",
                },
            ),
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        referral = referral_get_for_user(user=_user(request), pk=pk)
        return Response(ReferralDetailSerializer(referral, context={"user": request.user}).data)


class ReferralReceiptView(ApiView):
    write_methods = ("POST",)

    @extend_schema(
        operation_id="referrals_acknowledge_receipt",
        summary="Confirm your agency received a referral shared with it",
        request=None,
        responses={
            200: inline_serializer(
                "Receipt",
                {
                    "referral": serializers.IntegerField(),
                    "received_at": serializers.DateTimeField(),
                },
            ),
            **problems(404, 409),
            **COMMON_ERRORS,
        },
        examples=[_example("Received", {"referral": 41, "received_at": "2026-11-23T14:30:00Z"})],
    )
    def post(self, request: Request, pk: int) -> Response:
        referral = referral_get_for_user(user=_user(request), pk=pk)
        share = share_acknowledge_receipt(referral=referral, user=_user(request))
        return Response({"referral": referral.pk, "received_at": share.received_at})


class ChildrenView(ApiView):
    @extend_schema(
        operation_id="children_list",
        summary="Children your agency may see, oldest change first",
        parameters=[FeedQuery],
        responses={200: _feed_schema(ChildSerializer, "ChildPage"), **COMMON_ERRORS},
        examples=[
            _example("A page", {"results": [CHILD_EXAMPLE], "next_cursor": NEXT_CURSOR_EXAMPLE})
        ],
    )
    def get(self, request: Request) -> Response:
        query = query_of(FeedQuery, request)
        page = feed_page(
            child_list_for_user(user=_user(request)),
            cursor=query.get("cursor"),
            updated_after=query.get("updated_after"),
            size=query["page_size"],
        )
        _audit_reads(request, page.rows, AuditAction.LIST)
        return _page_response(request, ChildSerializer, page.rows, page.next_cursor)


class ChildDetailView(ApiView):
    @extend_schema(
        operation_id="children_retrieve",
        summary="One child",
        responses={200: ChildSerializer, **problems(404), **COMMON_ERRORS},
        examples=[_example("A child", CHILD_EXAMPLE)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ChildSerializer(child_get_for_user(user=_user(request), pk=pk)).data)


class AgencyDirectoryView(ApiView):
    @extend_schema(
        operation_id="agencies_list",
        summary="The directory of active agencies and their teams",
        parameters=[FeedQuery],
        responses={200: _feed_schema(AgencyDirectorySerializer, "AgencyPage"), **COMMON_ERRORS},
        examples=[
            _example(
                "A page",
                {
                    "results": [
                        {
                            "id": 3,
                            "name": "Northshire Children's Services",
                            "kind": "csc",
                            "local_authority": "Northshire",
                            "urn": "",
                            "ods_code": "",
                            "teams": [
                                {"id": 1, "name": "Front Door"},
                                {"id": 2, "name": "Emergency Duty Team"},
                            ],
                        }
                    ],
                    "next_cursor": NEXT_CURSOR_EXAMPLE,
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        query = query_of(FeedQuery, request)
        page = feed_page(
            Agency.objects.filter(is_active=True)
            .select_related("local_authority")
            .prefetch_related("teams"),
            cursor=query.get("cursor"),
            updated_after=query.get("updated_after"),
            size=query["page_size"],
        )
        return _page_response(request, AgencyDirectorySerializer, page.rows, page.next_cursor)
