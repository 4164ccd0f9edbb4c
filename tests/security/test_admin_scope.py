"""The admin: platform operators see everything; an agency administrator only their agencies'.

Every admin URL is asked by every kind of person: nobody signed in, a member of staff, an
agency administrator (of Northshire's children's services), and a platform operator. The
records in the URLs belong to Southvale, so the agency administrator must never get them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from agencies.models import Membership, Role, User
from referrals.models import AuditAction, AuditEvent, Notification
from tests import factories
from tests.conftest import World, signed_in


@pytest.fixture
def north_admin(world: World) -> User:
    user = factories.UserFactory.create(email="admin@northshire.test", is_staff=True)
    factories.MembershipFactory.create(user=user, agency=world.north_csc, role=Role.AGENCY_ADMIN)
    return user


@pytest.fixture
def operator(world: World) -> User:
    return factories.UserFactory.create(
        email="operator@platform.test", is_staff=True, is_superuser=True
    )


def _admin_client(user: User) -> Client:
    return signed_in(Client(), user)


def test_an_agency_admin_cannot_give_themselves_access_anywhere(
    world: World, north_admin: User, social_worker: Any
) -> None:
    client = _admin_client(north_admin)
    elsewhere = client.post(
        "/admin/agencies/membership/add/",
        {"user": north_admin.pk, "agency": world.south_csc.pk, "role": Role.SERVICE_MANAGER},
    )
    here = client.post(
        "/admin/agencies/membership/add/",
        {"user": north_admin.pk, "agency": world.north_csc.pk, "role": Role.SERVICE_MANAGER},
    )
    promote = client.post(
        "/admin/agencies/membership/add/",
        {"user": social_worker.pk, "agency": world.north_csc.pk, "role": Role.AGENCY_ADMIN},
    )
    for response in (elsewhere, here, promote):
        assert response.status_code == 200  # the form again, with its errors
        assert response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=north_admin).exclude(role=Role.AGENCY_ADMIN)
    assert not Membership.objects.filter(user=social_worker, role=Role.AGENCY_ADMIN).exists()


def test_an_agency_admin_cannot_make_anyone_staff_or_an_operator(
    world: World, north_admin: User, social_worker: Any
) -> None:
    client = _admin_client(north_admin)
    page = client.get(f"/admin/agencies/user/{social_worker.pk}/change/")
    assert page.status_code == 200
    fields = page.context["adminform"].form.fields
    assert "is_superuser" not in fields
    assert "is_staff" not in fields
    client.post(
        f"/admin/agencies/user/{social_worker.pk}/change/",
        {"email": social_worker.email, "is_superuser": "on", "is_staff": "on"},
    )
    social_worker.refresh_from_db()
    assert not social_worker.is_superuser
    assert not social_worker.is_staff
    assert client.get(f"/admin/agencies/user/{social_worker.pk}/password/").status_code == 403


def test_an_agency_admin_adds_a_person_to_their_own_agency_and_it_is_audited(
    world: World, north_admin: User
) -> None:
    client = _admin_client(north_admin)
    response = client.post(
        "/admin/agencies/user/add/",
        {
            "email": "new.worker@northshire.test",
            "password1": "a-long-enough-passphrase-1",
            "password2": "a-long-enough-passphrase-1",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "1",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-agency": world.north_csc.pk,
            "memberships-0-role": Role.SOCIAL_WORKER,
            "memberships-0-team": world.front_door.pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = User.objects.get(email="new.worker@northshire.test")
    assert list(person.memberships.values_list("agency_id", "role")) == [
        (world.north_csc.pk, Role.SOCIAL_WORKER)
    ]
    assert AuditEvent.objects.filter(
        action=AuditAction.ADMIN_CHANGE, actor=north_admin, target_id=str(person.pk)
    ).exists()


def _records(world: World, outsider: Any, social_worker: Any) -> dict[str, Any]:
    """One record of each admin model outside Northshire, and one inside where it matters."""
    south_event = factories.AuditEventFactory.create(agency=world.south_csc, actor=outsider)
    north_event = factories.AuditEventFactory.create(agency=world.north_csc, actor=social_worker)
    return {
        "agencies.user": outsider,
        "agencies.membership": outsider.memberships.first(),
        "agencies.agency": world.south_csc,
        "agencies.team": world.south_csc.teams.first(),
        "agencies.localauthority": world.southvale,
        "referrals.auditevent": south_event,
        "referrals.notification": factories.NotificationFactory.create(recipient=outsider),
        "north.auditevent": north_event,
        "north.notification": factories.NotificationFactory.create(recipient=social_worker),
    }


def _admin_urls() -> list[tuple[str, str]]:
    """Every URL of the admin site: (name, pattern), the model URLs with `{pk}` for the id."""
    found: list[tuple[str, str]] = []

    def walk(patterns: Any, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.append((pattern.name, route))

    resolver: Any = next(
        p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "admin"
    )
    walk(resolver.url_patterns, "/admin/")
    return found


MODEL_URLS = ("changelist", "add", "change", "delete", "history", "password_change")


def test_every_admin_url_answers_each_kind_of_person(
    world: World,
    north_admin: User,
    operator: User,
    teacher: Any,
    dsl: Any,
    other_school_dsl: Any,
    outsider: Any,
    social_worker: Any,
    team_manager: Any,
    partner: Any,
    police_officer: Any,
) -> None:
    """The permission matrix's people (tests/test_permission_matrix.py) on every admin URL."""
    records = _records(world, outsider, social_worker)
    # Everyone who is not an administrator: the matrix's columns but its admin.
    others = (teacher, dsl, other_school_dsl, outsider, social_worker, team_manager, partner,
              police_officer)  # fmt: skip
    people = {
        "anon": Client(),
        **{f"staff:{person.email}": _admin_client(person) for person in others},
        "admin": _admin_client(north_admin),
        "operator": _admin_client(operator),
    }
    urls = _admin_urls()
    assert len(urls) > 60  # every registered model's pages, not a handful
    checked = 0
    for name, route in urls:
        model_label = next(
            (
                f"{m._meta.app_label}.{m._meta.model_name}"
                for m in admin.site._registry
                if name.startswith(f"{m._meta.app_label}_{m._meta.model_name}_")
            ),
            None,
        )
        record = records.get(model_label or "")
        object_url = "<path:object_id>" in route or "<id>" in route
        if object_url:
            if record is None:
                continue  # no record of that model to ask about (the changelist is asked)
            route = route.replace("<path:object_id>", str(record.pk)).replace(
                "<id>", str(record.pk)
            )
        if "<" in route:
            continue  # app lists and view-on-site: asked through the index and changelists
        got = {who: client.get(route).status_code for who, client in people.items()}
        checked += 1
        assert got["anon"] == 302, (route, got)
        # Signed in without being an administrator: sent to sign in as one, never let in.
        for who, status in got.items():
            if who.startswith("staff:"):
                assert status in (302, 403), (route, who, status)
        if object_url or (name.endswith(("_changelist", "_add")) and model_label in CLOSED):
            # Southvale's record, or a model closed to agency administrators.
            assert got["admin"] in (302, 403, 404), (route, got)
        if name.endswith("_changelist") or name == "index":
            assert got["operator"] == 200, (route, got)
    assert checked > 40


# Models an agency administrator may not even list.
CLOSED = {
    "auth.group",
    "otp_totp.totpdevice",
    "otp_static.staticdevice",
    "oauth2_provider.application",
    "oauth2_provider.accesstoken",
    "oauth2_provider.grant",
    "oauth2_provider.idtoken",
    "oauth2_provider.refreshtoken",
    "agencies.localauthority",
    "agencies.routingrule",
    "referrals.escalation",
    "referrals.patternrule",
}


def test_every_admin_list_shows_an_agency_admin_only_their_agencies(
    world: World, north_admin: User, outsider: Any, social_worker: Any
) -> None:
    records = _records(world, outsider, social_worker)
    client = _admin_client(north_admin)
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        response = client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
        if label in CLOSED:
            assert response.status_code == 403, label
            continue
        assert response.status_code == 200, label
        shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
        outside = records.get(label)
        if outside is not None:
            assert outside.pk not in shown, label
    events = client.get("/admin/referrals/auditevent/").context["cl"].queryset
    assert records["north.auditevent"] in events
    assert set(events.values_list("agency_id", flat=True)) == {world.north_csc.pk}
    notes = client.get("/admin/referrals/notification/").context["cl"].queryset
    assert records["north.notification"] in notes
    assert not notes.exclude(recipient__memberships__agency=world.north_csc).exists()
    assert Notification.objects.count() > notes.count()


def test_the_admin_index_reads_the_administrators_agencies_once(
    world: World, north_admin: User
) -> None:
    client = _admin_client(north_admin)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/").status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if "'agency_admin'" in q["sql"]]
    assert len(reads) == 1, len(reads)


def test_an_agency_admin_sees_their_own_membership_but_cannot_change_it(
    world: World, north_admin: User
) -> None:
    own = Membership.objects.get(user=north_admin)
    client = _admin_client(north_admin)
    assert own.pk in client.get("/admin/agencies/membership/").context["cl"].queryset.values_list(
        "pk", flat=True
    )
    page = client.get(f"/admin/agencies/membership/{own.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False  # shown read-only
    client.post(
        f"/admin/agencies/membership/{own.pk}/change/",
        {"user": north_admin.pk, "agency": world.north_csc.pk, "role": Role.SERVICE_MANAGER},
    )
    assert (
        client.post(f"/admin/agencies/membership/{own.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    own.refresh_from_db()
    assert own.role == Role.AGENCY_ADMIN
