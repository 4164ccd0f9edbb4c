"""The demo data: idempotent, and every demo person signs in to a page for their role."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from agencies.management.commands.seed_demo import DEMO_OPERATOR, DEMO_USERS
from agencies.models import Agency, Membership, User
from referrals.models import AuditEvent, Child, Referral


@pytest.mark.django_db
def test_seed_demo_refuses_outside_demo_mode() -> None:
    with pytest.raises(CommandError, match="demo mode"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
@override_settings(DEMO_MODE=True, REQUIRE_MFA=False)
def test_seed_demo_is_idempotent_and_covers_every_state() -> None:
    call_command("seed_demo")
    counts = (
        User.objects.count(),
        Agency.objects.count(),
        Child.objects.count(),
        Referral.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        User.objects.count(),
        Agency.objects.count(),
        Child.objects.count(),
        Referral.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )
    states = set(Referral.objects.values_list("status", flat=True))
    assert states == set(Referral.Status.values)
    # Every demo person, and one platform operator (the only superuser).
    assert User.objects.filter(is_agency_system=False).count() == len(DEMO_USERS) + 1
    assert list(User.objects.filter(is_superuser=True).values_list("email", flat=True)) == [
        DEMO_OPERATOR
    ]
    assert User.objects.filter(is_agency_system=True).count() == 2


EXPECTED_CARDS = {
    "teacher@riverside.example": "Concerns you recorded",
    "dsl@riverside.example": "Concerns to review",
    "dsl@hillview.example": "Outcomes to read",
    "sw@northshire.example": "Waiting to be acknowledged",
    "manager@northshire.example": "Escalated",
    "edt@northshire.example": "Waiting to be acknowledged",
    "officer@police.example": "Your referrals awaiting an outcome",
    "nurse@health.example": "Shared with your agency",
    "dsl@southvale.example": "Your referrals awaiting an outcome",
    "sw@southvale.example": "Waiting to be acknowledged",
    "admin@northshire.example": "Set up authorities, agencies, teams and people",
}


@pytest.mark.django_db
@override_settings(DEMO_MODE=True, REQUIRE_MFA=False)
def test_every_demo_person_signs_in_and_sees_their_page() -> None:
    call_command("seed_demo")
    assert set(EXPECTED_CARDS) == {email for email, *_ in DEMO_USERS}
    for email, expected in EXPECTED_CARDS.items():
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": email, "password": "demo-safeguarding-2026"}
        )
        assert response.status_code == 302, email
        page = client.get("/")
        assert page.status_code == 200
        assert expected in page.content.decode(), email
