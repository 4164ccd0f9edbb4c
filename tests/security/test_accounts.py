"""Sessions, re-authentication, MFA reset, the admin's door, and what signing in audits."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import UserSession
from referrals.models import AuditAction, AuditEvent
from tests import factories
from tests.conftest import PASSWORD, signed_in, totp_now


def _sign_in(client: Client, user: Any) -> None:
    client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    response = client.post("/accounts/mfa/", {"token": totp_now(user)})
    assert response.status_code == 302


def test_signing_in_gives_a_new_session_key_at_each_step(client: Client, teacher: Any) -> None:
    totp_now(teacher)
    client.get("/accounts/login/")
    before = client.cookies["csrftoken"].value and client.session.session_key
    client.post("/accounts/login/", {"username": teacher.email, "password": PASSWORD})
    after_password = client.session.session_key
    client.post("/accounts/mfa/", {"token": totp_now(teacher)})
    after_code = client.session.session_key
    assert len({before, after_password, after_code}) == 3
    assert client.get("/").status_code == 200
    session = UserSession.objects.get(user=teacher)
    assert session.session_key == after_code  # followed on the next request


def test_a_person_sees_and_ends_their_own_other_session(teacher: Any) -> None:
    laptop, phone = Client(), Client()
    _sign_in(laptop, teacher)
    _sign_in(phone, teacher)
    page = laptop.get("/accounts/security/")
    assert page.status_code == 200
    sessions = list(page.context["sessions"])
    assert len(sessions) == 2
    other = next(s for s in sessions if s.pk != page.context["current_session_id"])
    assert laptop.post(f"/accounts/security/sessions/{other.pk}/end/").status_code == 302
    assert phone.get("/").status_code == 302  # signed out at once
    assert laptop.get("/").status_code == 200
    assert AuditEvent.objects.filter(
        actor=teacher, action=AuditAction.SESSION_END, data__session=other.pk
    ).exists()


def test_an_agency_admin_ends_a_users_sessions_and_resets_their_mfa(
    world: Any, teacher: Any, dsl: Any
) -> None:
    admin = factories.UserFactory.create(email="admin@riverside.test", is_staff=True)
    factories.MembershipFactory.create(user=admin, agency=world.riverside, role="agency_admin")
    browser = Client()
    _sign_in(browser, teacher)
    admin_client = signed_in(Client(), admin)
    page = admin_client.get("/accounts/agency/")
    assert page.status_code == 200
    assert teacher.email in page.content.decode()
    response = admin_client.post(f"/accounts/agency/users/{teacher.pk}/mfa-reset/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=teacher).exists()
    assert browser.get("/").status_code == 302
    reset = AuditEvent.objects.get(action=AuditAction.MFA_RESET)
    assert (reset.actor, reset.target_id, reset.data) == (admin, str(teacher.pk), {"self": False})


def test_an_agency_admin_cannot_touch_another_agencys_people(
    world: Any, social_worker: Any
) -> None:
    admin = factories.UserFactory.create(email="admin@riverside.test", is_staff=True)
    factories.MembershipFactory.create(user=admin, agency=world.riverside, role="agency_admin")
    totp_now(social_worker)
    client = signed_in(Client(), admin)
    response = client.post(f"/accounts/agency/users/{social_worker.pk}/mfa-reset/")
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=social_worker).exists()
    assert AuditEvent.objects.filter(
        actor=admin, action=AuditAction.DENIED, target_type="agencies.user"
    ).exists()


def test_deactivating_a_person_ends_every_session_at_once(teacher: Any) -> None:
    one, two = Client(), Client()
    _sign_in(one, teacher)
    _sign_in(two, teacher)
    keys = list(UserSession.objects.filter(user=teacher).values_list("session_key", flat=True))
    teacher.is_active = False
    teacher.save()
    assert not UserSession.objects.filter(user=teacher, ended_at__isnull=True).exists()
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert one.get("/").status_code == 302
    assert two.get("/").status_code == 302
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.SESSION_END, data__reason="deactivated"
        ).count()
        == 2
    )


def test_changing_the_email_asks_for_the_password_and_a_code_first(teacher: Any) -> None:
    client = Client()
    _sign_in(client, teacher)
    response = client.get("/accounts/security/email/")
    assert (
        response["Location"] == "/accounts/security/confirm/?next=%2Faccounts%2Fsecurity%2Femail%2F"
    )
    wrong = client.post(
        "/accounts/security/confirm/",
        {
            "password": "not-it-at-all",
            "token": totp_now(teacher),
            "next": "/accounts/security/email/",
        },
    )
    assert "The password or the code is not right" in wrong.content.decode()
    assert client.get("/accounts/security/email/").status_code == 302
    right = client.post(
        "/accounts/security/confirm/",
        {"password": PASSWORD, "token": totp_now(teacher), "next": "/accounts/security/email/"},
    )
    assert right["Location"] == "/accounts/security/email/"
    client.post("/accounts/security/email/", {"email": "Teacher.New@Riverside.test"})
    teacher.refresh_from_db()
    assert teacher.email == "teacher.new@riverside.test"
    actions = list(AuditEvent.objects.filter(actor=teacher).values_list("action", flat=True))
    assert AuditAction.REAUTHENTICATE in actions
    assert AuditAction.EMAIL_CHANGE in actions
    email_event = AuditEvent.objects.get(action=AuditAction.EMAIL_CHANGE)
    assert "riverside" not in str(email_event.data)


def test_replacing_the_authenticator_needs_reauthentication_then_enrols_again(
    teacher: Any,
) -> None:
    client = Client()
    _sign_in(client, teacher)
    assert client.post("/accounts/security/authenticator/replace/")["Location"].startswith(
        "/accounts/security/confirm/"
    )
    assert TOTPDevice.objects.filter(user=teacher).exists()
    client.post("/accounts/security/confirm/", {"password": PASSWORD, "token": totp_now(teacher)})
    assert (
        client.post("/accounts/security/authenticator/replace/")["Location"] == "/accounts/login/"
    )
    assert not TOTPDevice.objects.filter(user=teacher).exists()
    client.post("/accounts/login/", {"username": teacher.email, "password": PASSWORD})
    assert client.get("/accounts/mfa/")["Location"] == "/accounts/mfa/enrol/"
    assert AuditEvent.objects.filter(action=AuditAction.MFA_RESET, actor=teacher).exists()


def test_account_pages_need_the_second_factor(client: Client, teacher: Any) -> None:
    totp_now(teacher)
    client.post("/accounts/login/", {"username": teacher.email, "password": PASSWORD})
    response = client.get("/accounts/security/")
    assert response["Location"].startswith("/accounts/mfa/")


def test_lockout_is_audited(client: Client, teacher: Any, settings: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": teacher.email, "password": "wrong"})
    lockout = AuditEvent.objects.get(action=AuditAction.LOCKOUT)
    assert lockout.target_id == str(teacher.pk)
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() >= 5


def test_a_403_is_audited_against_the_record(client: Client, teacher: Any, world: Any) -> None:
    concern = factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    signed_in(client, teacher)
    assert client.get(f"/concerns/{concern.pk}/review/").status_code == 403
    denied = AuditEvent.objects.get(action=AuditAction.DENIED, actor=teacher)
    assert (denied.target_type, denied.target_id) == ("referrals.concern", str(concern.pk))
    assert denied.data == {"status": 403, "url": "concern-review"}


def test_the_admin_is_for_agency_admins_and_superusers_with_a_second_factor(
    world: Any, teacher: Any
) -> None:
    staff_only = factories.UserFactory.create(email="staff@riverside.test", is_staff=True)
    factories.MembershipFactory.create(user=staff_only, agency=world.riverside, role="dsl")
    assert signed_in(Client(), staff_only).get("/admin/").status_code == 302
    superuser = factories.UserFactory.create(
        email="root@riverside.test", is_staff=True, is_superuser=True
    )
    assert signed_in(Client(), superuser).get("/admin/").status_code == 200
    password_only = Client()
    totp_now(superuser)
    superuser.set_password(PASSWORD)
    superuser.save()
    password_only.post("/accounts/login/", {"username": superuser.email, "password": PASSWORD})
    assert password_only.get("/admin/")["Location"].startswith("/accounts/mfa/")


def test_admin_changes_are_audit_events(world: Any, teacher: Any) -> None:
    superuser = factories.UserFactory.create(
        email="root@riverside.test", is_staff=True, is_superuser=True
    )
    client = signed_in(Client(), superuser)
    response = client.post(
        f"/admin/agencies/agency/{world.hillview.pk}/change/",
        {
            "name": "Hillview Academy Trust",
            "kind": world.hillview.kind,
            "local_authority": world.hillview.local_authority_id,
            "urn": "",
            "ods_code": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    change = AuditEvent.objects.get(action=AuditAction.ADMIN_CHANGE)
    assert (change.actor, change.target_type, change.target_id, change.data) == (
        superuser,
        "agencies.agency",
        str(world.hillview.pk),
        {"admin": "change"},
    )
    assert AuditEvent.objects.filter(action=AuditAction.ADMIN_CHANGE).count() == 1
