"""Every URL of the project x every kind of person: the status each one gets.

One row per URL pattern (found by walking the resolver: a URL without a row fails the suite),
one column per person. The records are one referral from Riverside's DSL about a child a
Riverside teacher raised a concern about, acknowledged by the Front Door's social worker and
shared with health; nothing is mocked. Each request runs in a savepoint that is rolled back,
so a POST by one person never changes what the next one finds.

    anon      nobody signed in
    agency    another school's DSL in the same authority (Hillview)
    authority a social worker in another authority (Southvale)
    staff     the teacher who raised the concern
    dsl       Riverside's DSL, who referred
    sw        a Northshire Front Door social worker, who owns the referral
    manager   the Front Door's team manager
    partner   health's DSL: the referral is shared with health
    unshared  the police's DSL: a partner agency it is not shared with
    admin     an agency administrator with access to the Django admin (is_staff)

Every URL of the admin site (not only its index, the `admin:*` row) is asked by these people,
an agency administrator and a platform operator in tests/security/test_admin_scope.py.

API URLs answer 401 to anonymous callers. People reach the API with their verified session
(the rows below); agency systems with OAuth2 tokens, in a second matrix (TOKEN_MATRIX) with one
column per agency's system. After signing in, the MFA pages send people on (302) once they
have an authenticator. Records: u is a session of the teacher's, p the social worker.
"""

# ruff: noqa: E501 - the matrix is a table: one URL per line, one column per person.
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from agencies.models import UserSession
from referrals.casework.partners import api_client_create
from referrals.casework.referrals import referral_create, referral_submit
from referrals.casework.sharing import referral_share
from referrals.casework.triage import referral_acknowledge
from referrals.children.merge import child_merge
from referrals.models import Attachment, Draft, Referral
from tests import factories
from tests.conftest import World, signed_in

ROLES = (
    "anon",
    "agency",
    "authority",
    "staff",
    "dsl",
    "sw",
    "manager",
    "partner",
    "unshared",
    "admin",
)


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: str
    codes: str  # one status per person, in the order of ROLES
    data: tuple[tuple[str, str], ...] = ()

    def expected(self) -> dict[str, int]:
        codes = [int(code) for code in self.codes.split()]
        assert len(codes) == len(ROLES), self.name
        return dict(zip(ROLES, codes, strict=True))


# Paths name records by letter: r referral, c concern, f file, h child, s share, d draft,
# o another child in the authority, m a merge of a third record into h.

# fmt: off
MATRIX = [
    #                                                                 anon agency authority staff dsl sw manager partner unshared admin
    Row("home", "GET", "/",                                           "302 200 200 200 200 200 200 200 200 200"),
    # Concerns and children (issue 3)
    Row("concern-list", "GET", "/concerns/",                          "302 200 200 200 200 200 200 200 200 200"),
    Row("concern-start", "GET", "/concerns/new/",                     "302 200 200 200 200 200 200 200 200 403"),
    Row("concern-detail", "GET", "/concerns/{c}/",                   "302 404 404 200 200 200 200 404 404 404"),
    Row("concern-review", "GET", "/concerns/{c}/review/",            "302 404 404 403 200 403 403 404 404 404"),
    Row("concern-addendum", "POST", "/concerns/{c}/addenda/",        "302 404 404 302 302 400 400 404 404 404",
        (("text", "Seen again today."),)),
    Row("concern-attach", "GET", "/concerns/{c}/files/",             "302 404 404 200 200 403 403 404 404 404"),
    Row("child-find", "GET", "/children/find/concern/",               "302 200 200 200 200 200 200 200 200 403"),
    Row("child-add", "GET", "/children/new/concern/",                 "302 302 302 302 302 302 302 302 302 403"),
    Row("child-detail", "GET", "/children/{h}/",                     "302 404 404 200 200 200 200 200 404 404"),
    # Find, read and print (issue 15): search among the children one may see; the chronology's
    # exports as the chronology itself.
    Row("child-search", "GET", "/children/search/",                   "302 200 200 200 200 200 200 200 200 403"),
    Row("child-chronology-pdf", "GET", "/children/{h}/chronology.pdf", "302 404 404 200 200 200 200 200 404 404"),
    Row("child-chronology-csv", "GET", "/children/{h}/chronology.csv", "302 404 404 200 200 200 200 200 404 404"),
    Row("concern-new", "GET", "/children/{h}/concerns/new/",         "302 404 404 200 200 200 200 200 404 403"),
    Row("referral-new", "GET", "/children/{h}/referrals/new/",       "302 404 403 403 200 403 403 200 404 403"),
    Row("referral-check", "GET", "/children/{h}/referrals/check/",   "302 404 403 403 302 403 403 302 404 403"),
    Row("referral-start", "GET", "/referrals/new/",                   "302 200 403 403 200 403 403 200 200 403"),
    Row("referral-mine", "GET", "/referrals/mine/",                   "302 200 200 200 200 200 200 200 200 200"),
    Row("referral-withdraw", "GET", "/referrals/{r}/withdraw/",      "302 404 404 404 403 403 403 403 404 404"),
    Row("referral-attach", "GET", "/referrals/{r}/files/",           "302 404 404 404 200 200 200 403 404 404"),
    Row("attachment-download", "GET", "/files/{f}/",                 "302 404 404 200 200 200 200 404 404 404"),
    Row("draft-list", "GET", "/drafts/",                             "302 200 200 200 200 200 200 200 200 200"),
    Row("draft-delete", "POST", "/drafts/{d}/delete/",               "302 404 404 404 302 404 404 404 404 404"),
    # Notifications are their recipient's alone (issue 14): n is one of the DSL's.
    Row("notification-list", "GET", "/notifications/",                "302 200 200 200 200 200 200 200 200 200"),
    Row("notification-open", "GET", "/notifications/{n}/",            "302 404 404 404 302 404 404 404 404 404"),
    Row("notification-read-all", "POST", "/notifications/read/",      "302 302 302 302 302 302 302 302 302 302"),
    Row("notification-settings", "GET", "/notifications/email/",      "302 200 200 200 200 200 200 200 200 200"),
    # The referral page and the front door's work on it (issue 4)
    Row("referral-detail", "GET", "/referrals/{r}/",                 "302 404 404 404 200 200 200 200 404 404"),
    Row("referral-queue", "GET", "/queue/",                           "302 403 200 403 403 200 200 403 403 403"),
    Row("manager-dashboard", "GET", "/dashboard/",                    "302 403 403 403 403 403 200 403 403 403"),
    Row("referral-claim", "POST", "/referrals/{r}/claim/",           "302 404 404 404 403 302 302 403 404 404"),
    Row("referral-acknowledge", "POST", "/referrals/{r}/acknowledge/", "302 404 404 404 403 302 302 403 404 404"),
    Row("referral-request-information", "POST", "/referrals/{r}/information-request/",
                                                                      "302 404 404 404 403 302 302 403 404 404",
        (("request-message", "Who lives at home?"),)),
    # The referral is not waiting for an answer, so the DSL's answer is refused on the form.
    Row("referral-reply", "POST", "/referrals/{r}/reply/",           "302 404 404 404 400 403 403 403 404 404",
        (("reply-message", "Mum and Dad."),)),
    Row("referral-note", "POST", "/referrals/{r}/notes/",            "302 404 404 404 403 302 302 403 404 404",
        (("note-text", "Known to us."),)),
    Row("referral-decide", "GET", "/referrals/{r}/decide/",          "302 404 404 404 403 200 200 403 404 404"),
    # The referral is acknowledged, not decided: the front door's close is refused in a banner.
    Row("referral-close", "POST", "/referrals/{r}/close/",           "302 404 404 404 403 302 302 403 404 404"),
    Row("referral-transfer", "GET", "/referrals/{r}/transfer/",      "302 404 404 404 403 200 200 403 404 404"),
    Row("referral-share", "GET", "/referrals/{r}/share/",            "302 404 404 404 403 200 200 403 404 404"),
    Row("share-revoke", "POST", "/referrals/{r}/shares/{s}/revoke/", "302 404 404 404 403 302 302 403 404 404"),
    Row("referral-reassign", "GET", "/referrals/{r}/reassign/",      "302 404 404 404 403 403 200 403 404 404"),
    # The joined-up picture (issue 9)
    Row("child-choose", "POST", "/children/find/concern/{h}/",       "302 404 404 302 302 302 302 302 404 403"),
    Row("child-matches", "GET", "/children/{h}/matches/",            "302 404 404 403 403 200 200 403 404 404"),
    Row("child-merge", "POST", "/children/{h}/matches/{o}/merge/",   "302 404 404 403 403 302 302 403 404 404"),
    Row("child-not-match", "POST", "/children/{h}/matches/{o}/different/",
                                                                      "302 404 404 403 403 302 302 403 404 404"),
    Row("child-unmerge", "POST", "/children/{h}/merges/{m}/undo/",   "302 404 404 403 403 403 302 403 404 404",
        (("reason", "Different school years."),)),
    Row("household-add", "GET", "/children/{h}/household/new/",     "302 404 404 200 200 200 200 200 404 404"),
    Row("concern-share", "POST", "/concerns/{c}/share/",             "302 404 404 403 302 403 403 404 404 404",
        (("share-reason", "Low-level, for the picture."),)),
    # Accounts and operations
    Row("login", "GET", "/accounts/login/",                           "200 302 302 302 302 302 302 302 302 302"),
    Row("logout", "POST", "/accounts/logout/",                        "302 302 302 302 302 302 302 302 302 302"),
    # Everyone signed in here already has a confirmed authenticator.
    Row("mfa-verify", "GET", "/accounts/mfa/",                        "302 200 200 200 200 200 200 200 200 200"),
    Row("mfa-enrol", "GET", "/accounts/mfa/enrol/",                   "302 302 302 302 302 302 302 302 302 302"),
    Row("mfa-recovery-codes", "GET", "/accounts/mfa/recovery-codes/", "302 302 302 302 302 302 302 302 302 302"),
    Row("keep-alive", "POST", "/accounts/session/keep-alive/",        "302 302 302 302 302 302 302 302 302 302"),
    # Sign-in details and sessions (issue 7): changes first ask for the password and a code.
    Row("account-security", "GET", "/accounts/security/",             "302 200 200 200 200 200 200 200 200 200"),
    Row("reauthenticate", "GET", "/accounts/security/confirm/",       "302 200 200 200 200 200 200 200 200 200"),
    Row("email-change", "GET", "/accounts/security/email/",           "302 302 302 302 302 302 302 302 302 302"),
    Row("mfa-replace", "POST", "/accounts/security/authenticator/replace/",
                                                                      "302 302 302 302 302 302 302 302 302 302"),
    Row("recovery-codes-new", "POST", "/accounts/security/recovery-codes/",
                                                                      "302 302 302 302 302 302 302 302 302 302"),
    Row("session-end", "POST", "/accounts/security/sessions/{u}/end/", "302 404 404 302 404 404 404 404 404 404"),
    Row("agency-users", "GET", "/accounts/agency/",                   "302 403 403 403 403 403 403 403 403 200"),
    Row("user-mfa-reset", "POST", "/accounts/agency/users/{p}/mfa-reset/",
                                                                      "302 403 403 403 403 403 403 403 403 302"),
    # Who has seen this (issue 7): leads and managers who may see the record.
    Row("child-access-log", "GET", "/children/{h}/access/",           "302 404 404 403 200 403 200 200 404 404"),
    Row("referral-access-log", "GET", "/referrals/{r}/access/",       "302 404 404 404 200 403 200 200 404 404"),
    # The pages every public service has (issue 15): everyone, signed in or not.
    Row("accessibility", "GET", "/accessibility/",                    "200 200 200 200 200 200 200 200 200 200"),
    Row("privacy", "GET", "/privacy/",                                "200 200 200 200 200 200 200 200 200 200"),
    Row("cookies", "GET", "/cookies/",                                "200 200 200 200 200 200 200 200 200 200"),
    Row("help", "GET", "/help/",                                      "200 200 200 200 200 200 200 200 200 200"),
    Row("healthz", "GET", "/healthz",                                 "200 200 200 200 200 200 200 200 200 200"),
    Row("admin:*", "GET", "/admin/",                                  "302 302 302 302 302 302 302 302 302 200"),
    # The API, for people signed in with a verified session (agency systems use tokens); its
    # schema and docs page describe the API only, so they are public.
    Row("api-referrals", "GET", "/api/v1/referrals/",                 "401 200 200 200 200 200 200 200 200 200"),
    Row("api-referral", "GET", "/api/v1/referrals/{r}/",             "401 404 404 404 200 200 200 200 404 404"),
    # By NHS number, in the body: for the authorities' children's social care only.
    Row("api-referral-search", "POST", "/api/v1/referrals/search/",  "401 403 200 403 403 200 200 403 403 403",
        (("nhs_number", "9434765919"),)),
    Row("api-referral-receipt", "POST", "/api/v1/referrals/{r}/receipt/",
                                                                      "401 404 404 404 409 409 409 200 404 404"),
    Row("api-children", "GET", "/api/v1/children/",                   "401 200 200 200 200 200 200 200 200 200"),
    Row("api-child", "GET", "/api/v1/children/{h}/",                 "401 404 404 200 200 200 200 200 404 404"),
    Row("api-agencies", "GET", "/api/v1/agencies/",                   "401 200 200 200 200 200 200 200 200 200"),
    Row("api-schema", "GET", "/api/schema/",                          "200 200 200 200 200 200 200 200 200 200"),
    Row("api-docs", "GET", "/api/docs/",                              "200 200 200 200 200 200 200 200 200 200"),
    Row("oauth2-token", "POST", "/o/token/",                          "400 400 400 400 400 400 400 400 400 400"),
    Row("oauth2-revoke", "POST", "/o/revoke_token/",                  "400 400 400 400 400 400 400 400 400 400"),
]
# fmt: on


def _pattern_names(patterns: list[Any], namespace: str = "") -> set[str]:
    """Every URL pattern's name (`ns:*` for a namespace such as Django's admin)."""
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace:
                names.add(f"{pattern.namespace}:*")
            else:
                names |= _pattern_names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern):
            names.add(pattern.name or str(pattern.pattern))
    return names


def test_every_url_of_the_project_has_a_row_and_every_row_a_url() -> None:
    urls = _pattern_names(get_resolver().url_patterns)
    rows = {row.name for row in MATRIX}
    assert urls - rows == set(), "URLs without a row in the permission matrix"
    assert rows - urls == set(), "rows for URLs that no longer exist"
    assert len(rows) == len(MATRIX), "a URL with two rows"


@dataclass
class Records:
    people: dict[str, Any]
    ids: dict[str, int]


@pytest.fixture
def records(
    world: World,
    teacher: Any,
    dsl: Any,
    other_school_dsl: Any,
    outsider: Any,
    social_worker: Any,
    team_manager: Any,
    partner: Any,
    police_officer: Any,
    media_root: Any,
) -> Records:
    admin = factories.UserFactory.create(email="admin@northshire.test", is_staff=True)
    factories.MembershipFactory.create(user=admin, agency=world.north_csc, role="agency_admin")
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    concern = factories.ReviewedConcernFactory.create(
        agency=world.riverside, child=child, raised_by=teacher
    )
    attachment = Attachment.objects.create(
        concern=concern,
        agency=world.riverside,
        uploaded_by=teacher,
        file=ContentFile(b"notes", name="notes.txt"),
        name="notes.txt",
        content_type="text/plain",
        size=5,
        sha256="0" * 64,
    )
    referral = referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        concerns=[concern],
        urgency="urgent",
        reason="Bruising and a disclosure.",
        consent=Referral.Consent.GIVEN,
    )
    referral_submit(referral=referral, user=dsl)
    referral_acknowledge(referral=referral, user=social_worker)
    share = referral_share(
        referral=referral,
        user=team_manager,
        agency=world.health,
        reason="Strategy discussion.",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    teacher_session = UserSession.objects.create(user=teacher, session_key="elsewhere")
    draft = Draft.objects.create(
        owner=dsl, agency=world.riverside, child=child, kind=Draft.Kind.CONCERN, payload={}
    )
    notification = factories.NotificationFactory.create(
        recipient=dsl, in_app_only=True, referral=referral, kind="outcome"
    )
    # Issue 9: another record in the authority, and one the front door merged into the child's.
    other = factories.ChildFactory.create(created_by_agency=world.police, first_name="Olu")
    merged = factories.ChildFactory.create(created_by_agency=world.health)
    merge = child_merge(user=team_manager, kept=child, duplicate=merged)
    return Records(
        people={
            "agency": other_school_dsl,
            "authority": outsider,
            "staff": teacher,
            "dsl": dsl,
            "sw": social_worker,
            "manager": team_manager,
            "partner": partner,
            "unshared": police_officer,
            "admin": admin,
        },
        ids={
            "r": referral.pk,
            "c": concern.pk,
            "f": attachment.pk,
            "h": child.pk,
            "s": share.pk,
            "d": draft.pk,
            "n": notification.pk,
            "o": other.pk,
            "m": merge.pk,
            "u": teacher_session.pk,
            "p": social_worker.pk,
        },
    )


@pytest.mark.parametrize("row", MATRIX, ids=[row.name for row in MATRIX])
def test_permission_matrix(row: Row, records: Records, request: pytest.FixtureRequest) -> None:
    if row.name == "healthz":
        request.getfixturevalue("redis_proc")  # the health check asks the broker too
    path = row.path.format(**records.ids)
    clients = {"anon": Client()} | {
        role: signed_in(Client(), person) for role, person in records.people.items()
    }
    got: dict[str, int] = {}
    for role in ROLES:
        with transaction.atomic():
            if row.method == "POST" and path.startswith("/api/"):
                response = clients[role].post(
                    path, json.dumps(dict(row.data)), content_type="application/json"
                )
            elif row.method == "POST":
                response = clients[role].post(path, dict(row.data))
            else:
                response = clients[role].get(path)
            got[role] = response.status_code
            transaction.set_rollback(True)
    codes = " ".join(str(got[role]) for role in ROLES)
    assert got == row.expected(), f"{row.method} {path} answered {codes}"


# Agency systems with OAuth2 client-credentials tokens, over every API endpoint.
TOKEN_ROLES = ("none", "police", "north_csc", "health", "south_csc", "riverside", "readonly")
# none       no token at all
# police     Northshire Police's system: the referral is not shared with the police
# north_csc  Northshire Children's Services' system: its authority received the referral
# health     health's system: the referral is shared with health
# south_csc  another authority's children's social care system
# riverside  the referring school's system
# readonly   health's system with a token for referrals:read only

# fmt: off
TOKEN_MATRIX = [
    #                                                                     none police north_csc health south_csc riverside readonly
    Row("api-referrals", "GET", "/api/v1/referrals/",                     "401 200 200 200 200 200 200"),
    Row("api-referrals", "POST", "/api/v1/referrals/",                    "401 400 400 400 400 400 403"),
    Row("api-referral", "GET", "/api/v1/referrals/{r}/",                 "401 404 200 200 404 200 200"),
    Row("api-referral-search", "POST", "/api/v1/referrals/search/",       "401 403 200 403 200 403 403",
        (("nhs_number", "9434765919"),)),
    Row("api-referral-receipt", "POST", "/api/v1/referrals/{r}/receipt/", "401 404 409 200 404 409 403"),
    Row("api-children", "GET", "/api/v1/children/",                      "401 200 200 200 200 200 200"),
    Row("api-child", "GET", "/api/v1/children/{h}/",                     "401 404 200 200 404 200 200"),
    Row("api-agencies", "GET", "/api/v1/agencies/",                       "401 200 200 200 200 200 200"),
    # A token opens the API only: the pages want a person's verified session.
    Row("referral-detail", "GET", "/referrals/{r}/",                     "302 302 302 302 302 302 302"),
]
# fmt: on


def test_every_api_url_has_a_row_in_the_token_matrix() -> None:
    api = {name for name in _pattern_names(get_resolver().url_patterns) if name.startswith("api-")}
    public = {"api-schema", "api-docs"}
    assert api - public - {row.name for row in TOKEN_MATRIX} == set()


@pytest.mark.parametrize(
    "row", TOKEN_MATRIX, ids=[f"{row.method}-{row.name}" for row in TOKEN_MATRIX]
)
def test_token_matrix(row: Row, records: Records, world: World) -> None:
    from tests.referrals.api.conftest import ApiClient, issue_token

    def system(agency: Any, scope: str = "referrals:read referrals:write") -> ApiClient:
        application, secret = api_client_create(agency=agency, name=f"{agency.name} system")
        return ApiClient(issue_token(application.client_id, secret, scope), application.user)

    clients: dict[str, Any] = {
        "police": system(world.police),
        "north_csc": system(world.north_csc),
        "health": system(world.health),
        "south_csc": system(world.south_csc),
        "riverside": system(world.riverside),
        "readonly": system(world.health, "referrals:read"),
    }
    path = row.path.format(**records.ids)
    got: dict[str, int] = {}
    for role in TOKEN_ROLES:
        with transaction.atomic():
            if role == "none":
                response = Client().generic(row.method, path, "{}", "application/json")
            elif row.method == "POST":
                response = clients[role].post(path, dict(row.data))
            else:
                response = clients[role].get(path)
            got[role] = response.status_code
            transaction.set_rollback(True)
    codes = " ".join(str(got[role]) for role in TOKEN_ROLES)
    expected = dict(zip(TOKEN_ROLES, [int(c) for c in row.codes.split()], strict=True))
    assert got == expected, f"{row.method} {path} answered {codes}"
