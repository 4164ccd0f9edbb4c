"""Hostile input in the forms and the API: escaped on the way out, refused with a clear
message or stored faithfully on the way in, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from referrals.casework.partners import api_client_create
from referrals.casework.referrals import referral_create, referral_submit
from referrals.casework.triage import referral_acknowledge, referral_note_add
from referrals.models import Child, Draft, Referral
from tests import factories
from tests.conftest import signed_in
from tests.referrals.api.conftest import ApiClient, issue_token

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = "Robert'); DROP TABLE referrals_child;-- \" OR 1=1 %_\\"
CONFUSABLE = "\u0410lice \u202eevil\u202c O\u2019Brien"  # Cyrillic A, right-to-left override
CONTROL = "line\x07bell\x1bescape\ttab"
NUL = "nul\x00byte"
LONG = "x" * 100_000

STORED_FAITHFULLY = [SCRIPT, SQL, CONFUSABLE, CONTROL]


def _api(world: Any) -> ApiClient:
    cache.clear()
    application, secret = api_client_create(agency=world.police, name="Police system")
    return ApiClient(issue_token(application.client_id, secret, "referrals:write"), None)


def _body(**child: str) -> dict[str, Any]:
    return {
        "child": {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "2013-04-02"}
        | child,
        "urgency": "urgent",
        "category": "physical",
        "factors": [],
        "reason": "Bruising.",
        "consent": "given",
        "parents_aware": "yes",
        "referrer_name": "PC Olive Officer",
        "referrer_phone": "01632 960555",
        "referrer_email": "olive.officer@police.example",
        "desired_outcome": "Safety.",
    }


@pytest.mark.parametrize("value", STORED_FAITHFULLY, ids=["script", "sql", "confusable", "control"])
def test_the_api_stores_odd_names_faithfully(world: Any, value: str) -> None:
    response = _api(world).post("/api/v1/referrals/", _body(first_name=value[:100]))
    assert response.status_code == 201, response.content
    child = Referral.objects.get(pk=response.json()["id"]).child
    assert child.first_name == value[:100]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", NUL, "Null characters are not allowed."),
        ("last_name", LONG, "no more than"),
        ("reason", NUL, "Null characters are not allowed."),
        ("reason", LONG * 2, "no more than"),
    ],
)
def test_the_api_refuses_nul_bytes_and_huge_values_clearly(
    world: Any, field: str, value: str, message: str
) -> None:
    body = _body(**({field: value} if field != "reason" else {}))
    if field == "reason":
        body["reason"] = value
    response = _api(world).post("/api/v1/referrals/", body)
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    assert message in response.content.decode()


def test_markup_in_every_free_text_field_comes_back_escaped(
    client: Client, world: Any, dsl: Any, social_worker: Any
) -> None:
    child = factories.ChildFactory.create(
        created_by_agency=world.riverside,
        first_name=SCRIPT[:100],
        last_name=SCRIPT[:100],
        other_names=SCRIPT,
        address=SCRIPT,
    )
    concern = factories.ReviewedConcernFactory.create(
        agency=world.riverside,
        child=child,
        raised_by=dsl,
        what_happened=SCRIPT,
        childs_words=SCRIPT,
        location=SCRIPT[:200],
        people_present=SCRIPT,
        actions_taken=SCRIPT,
        review_rationale=SCRIPT,
    )
    referral = referral_create(
        user=dsl,
        agency=world.riverside,
        child=child,
        concerns=[concern],
        urgency="urgent",
        reason=SCRIPT,
        consent=Referral.Consent.GIVEN,
        desired_outcome=SCRIPT,
    )
    referral_submit(referral=referral, user=dsl)
    referral_acknowledge(referral=referral, user=social_worker)
    referral_note_add(referral=referral, user=social_worker, text=SCRIPT)
    signed_in(client, social_worker)
    for path in (
        f"/referrals/{referral.pk}/",
        f"/children/{child.pk}/",
        f"/concerns/{concern.pk}/",
        "/queue/",
    ):
        page = client.get(path).content.decode()
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    api = client.get(f"/api/v1/referrals/{referral.pk}/")
    assert api.json()["reason"] == SCRIPT  # JSON carries the text as it was written


def test_the_child_form_refuses_a_nul_byte_and_takes_a_confusable_name(
    client: Client, world: Any, dsl: Any
) -> None:
    signed_in(client, dsl)
    client.post("/children/find/concern/", {"first_name": "Ada", "last_name": "Byte"})
    form = {
        "first_name": NUL,
        "last_name": "Byte",
        "dob_day": "2",
        "dob_month": "4",
        "dob_year": "2013",
        "sex": "female",
        "address": CONTROL,
    }
    refused = client.post("/children/new/concern/", form)
    assert refused.status_code == 200
    assert "Null characters are not allowed." in refused.content.decode()
    accepted = client.post("/children/new/concern/", form | {"first_name": CONFUSABLE})
    assert accepted.status_code == 302
    child = Child.objects.get(last_name="Byte")
    assert (child.first_name, child.address) == (CONFUSABLE, CONTROL)


@pytest.mark.parametrize("extra", [{}, {"save_draft": "1"}, {"autosave": "1"}])
def test_the_concern_form_and_its_drafts_never_fail_on_a_nul_byte(
    client: Client, world: Any, dsl: Any, extra: dict[str, str]
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    signed_in(client, dsl)
    response = client.post(
        f"/children/{child.pk}/concerns/new/",
        {"what_happened": NUL, "childs_words": SQL, "location": LONG} | extra,
    )
    assert response.status_code in {200, 302, 400}
    if response.status_code == 302:  # "Save draft": the message waits on the page it names
        response = client.get(response["Location"])
    assert "Null characters are not allowed" in response.content.decode()
    assert not Draft.objects.exists()
