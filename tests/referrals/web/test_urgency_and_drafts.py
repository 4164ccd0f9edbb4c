"""Issue 14: urgency is a question on one scale from concern to referral, "did this happen
today?" comes before any date, a referral made from concerns starts with what they say; and
drafts carry a version, so nothing typed is lost and nothing is sent without being checked."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from referrals.core import errors
from referrals.core.choices import URGENCY_HINTS, Urgency
from referrals.models import AuditEvent, Child, Concern, Draft, Referral
from tests import factories
from tests.conftest import World, signed_in
from tests.referrals.web.conftest import AUTOSAVE, check_url, form_url
from tests.referrals.web.test_concern_pages import REFERRAL_ANSWERS, concern_post

LONDON = datetime.timezone(datetime.timedelta(0))  # GMT: London's winter time


def _draft_rows(draft: Draft) -> int:
    return AuditEvent.objects.filter(target_type="referrals.draft", target_id=str(draft.pk)).count()


def _urgency_checked(page: str) -> list[str]:
    return re.findall(r'name="urgency" type="radio" value="(\w+)" checked', page)


# Urgency: a question, one scale ----------------------------------------------------------------


def test_neither_form_chooses_an_urgency_and_both_ask_it_on_one_scale(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    for url in (f"/children/{child.pk}/concerns/new/", form_url(child)):
        page = client.get(url).content.decode()
        assert _urgency_checked(page) == [], url
        assert "How urgent is this?" in page
        for value, label in Urgency.choices:
            assert f'value="{value}"' in page
            assert str(label) in page
            assert URGENCY_HINTS[value] in page
        assert "call 999" in URGENCY_HINTS[Urgency.IMMEDIATE]
        assert 'aria-describedby="id_urgency_0-item-hint"' in page
    for old in ("Immediate risk of harm", "When they next review"):
        assert old not in client.get(form_url(child)).content.decode()


def test_a_concern_without_an_urgency_is_not_recorded(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    response = client.post(f"/children/{child.pk}/concerns/new/", concern_post(urgency=None))
    page = response.content.decode()
    assert "There is a problem" in page
    assert '<a href="#id_urgency_0">Select how urgent this is</a>' in page
    assert 'id="id_urgency-error"' in page
    assert not Concern.objects.exists()


def test_a_referral_without_an_urgency_goes_no_further(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    answers = {k: v for k, v in REFERRAL_ANSWERS.items() if k != "urgency"}
    response = client.post(form_url(child), {**answers, "continue": "1"})
    assert response.status_code == 400
    assert '<a href="#id_urgency_0">Select how urgent this is</a>' in response.content.decode()
    assert client.get(check_url(child))["Location"].startswith(form_url(child))


def test_the_check_page_says_the_urgency_in_the_same_words(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    client.post(form_url(child), {**REFERRAL_ANSWERS, "urgency": "immediate", "continue": "1"})
    page = client.get(check_url(child)).content.decode()
    assert "Straight away: the child may be at risk of harm today" in page


# Did this happen today? --------------------------------------------------------------------------


def test_the_concern_form_asks_whether_it_happened_today_before_any_date(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    page = client.get(f"/children/{child.pk}/concerns/new/").content.decode()
    assert page.index("Did this happen today?") < page.index('name="observed_day"')
    assert 'data-reveals="observed-date"' in page
    hidden = (
        'class="govuk-radios__conditional govuk-radios__conditional--hidden" id="observed-date"'
    )
    assert hidden in page
    assert re.search(r'name="observed_today"[^>]*checked', page) is None
    for name in ("observed_day", "observed_month", "observed_year", "observed_time"):
        assert re.search(rf'name="{name}"[^>]*value="[^"]+"', page) is None, name
    missing = client.post(
        f"/children/{child.pk}/concerns/new/", concern_post(observed_today=None)
    ).content.decode()
    assert "Select yes if it happened today" in missing
    no_date = client.post(
        f"/children/{child.pk}/concerns/new/",
        concern_post(observed_day="", observed_month="", observed_year=""),
    ).content.decode()
    assert "Enter the date it happened" in no_date
    # "No" is chosen, so the date is shown, not hidden, when the page comes back with errors.
    assert 'class="govuk-radios__conditional" id="observed-date"' in no_date
    assert not Concern.objects.exists()


@pytest.mark.parametrize(
    ("hour", "time", "expected"),
    [
        (15, "", (12, 0)),  # not known: noon, as before
        (9, "", (9, 0)),  # not known, and noon has not come: now, never the future
        (15, "14:05", (14, 5)),
    ],
)
def test_today_with_or_without_a_time(
    client: Client, teacher: Any, child: Child, hour: int, time: str, expected: tuple[int, int]
) -> None:
    with time_machine.travel(datetime.datetime(2025, 12, 3, hour, 0, tzinfo=LONDON), tick=False):
        signed_in(client, teacher)
        response = client.post(
            f"/children/{child.pk}/concerns/new/",
            concern_post(
                observed_today="yes",
                observed_day="",
                observed_month="",
                observed_year="",
                observed_time=time,
            ),
        )
    assert response.status_code == 302
    observed = timezone.localtime(Concern.objects.get().observed_at)
    assert (observed.date(), (observed.hour, observed.minute)) == (
        datetime.date(2025, 12, 3),
        expected,
    )


def test_a_time_later_today_is_refused(client: Client, teacher: Any, child: Child) -> None:
    with time_machine.travel(datetime.datetime(2025, 12, 3, 9, 0, tzinfo=LONDON), tick=False):
        signed_in(client, teacher)
        page = client.post(
            f"/children/{child.pk}/concerns/new/",
            concern_post(observed_today="yes", observed_time="16:00"),
        ).content.decode()
    assert "The time must be now or in the past" in page
    assert not Concern.objects.exists()


# A referral made from concerns ------------------------------------------------------------------


def test_a_referral_from_one_concern_starts_with_what_it_says(
    client: Client, dsl: Any, teacher: Any, world: World, child: Child
) -> None:
    concern = factories.ReviewedConcernFactory.create(
        agency=world.riverside,
        child=child,
        raised_by=teacher,
        urgency=Urgency.URGENT,
        categories=["physical", "domestic_abuse"],
        what_happened="A bruise on her arm.",
    )
    signed_in(client, dsl)
    form = client.get(f"{form_url(child)}?concern={concern.pk}").context["form"]
    assert {
        k: form.initial[k] for k in ("concerns", "urgency", "category", "factors", "reason")
    } == {
        "concerns": [str(concern.pk)],
        "urgency": "urgent",
        "category": "physical",
        "factors": ["domestic_abuse"],
        "reason": "A bruise on her arm.",
    }


def test_a_referral_from_several_concerns_takes_the_most_urgent_and_dates_each(
    client: Client, dsl: Any, teacher: Any, world: World, child: Child
) -> None:
    def concern(day: int, urgency: str, categories: list[str], text: str) -> Concern:
        return factories.ReviewedConcernFactory.create(
            agency=world.riverside,
            child=child,
            raised_by=teacher,
            urgency=urgency,
            categories=categories,
            what_happened=text,
            observed_at=datetime.datetime(2025, 11, day, 10, 0, tzinfo=LONDON),
        )

    later = concern(20, "standard", ["neglect", "missing"], "Hungry again.")
    earlier = concern(3, "immediate", ["physical"], "A burn on the hand.")
    elsewhere = factories.ReviewedConcernFactory.create(
        agency=world.hillview, child=child, urgency="immediate", what_happened="Not ours."
    )
    signed_in(client, dsl)
    query = f"?concern={later.pk}&concern={earlier.pk}&concern={elsewhere.pk}"
    response = client.get(f"{form_url(child)}{query}")
    initial = response.context["form"].initial
    assert sorted(initial["concerns"]) == sorted([str(later.pk), str(earlier.pk)])
    assert (initial["urgency"], initial["category"], initial["factors"]) == (
        "immediate",
        "multiple",
        ["missing"],
    )
    assert (
        initial["reason"]
        == "3 November 2025: A burn on the hand.\n\n20 November 2025: Hungry again."
    )
    assert "Not ours." not in response.content.decode()


# Versioned drafts: the referral ----------------------------------------------------------------


def test_an_autosave_in_flight_when_the_form_was_posted_changes_nothing(
    client: Client, dsl: Any, child: Child
) -> None:
    """(a) The form's final Continue carries version N; an autosave numbered N-1 arrives after
    it: 409, no change, no audit row; the check page shows what was posted."""
    signed_in(client, dsl)
    for version, text in enumerate(["Bruis", "Bruising", "Bruising and"], start=1):
        saved = client.post(
            form_url(child),
            {**REFERRAL_ANSWERS, "reason": text, "autosave": "1", "draft_version": version},
            headers=AUTOSAVE,
        )
        assert json.loads(saved.content)["version"] == version
    final = "Bruising and a disclosure about dad."
    posted = client.post(
        form_url(child),
        {**REFERRAL_ANSWERS, "reason": final, "continue": "1", "draft_version": "5"},
    )
    assert posted["Location"] == check_url(child)
    draft = Draft.objects.get()
    rows = _draft_rows(draft)
    late = client.post(
        form_url(child),
        {**REFERRAL_ANSWERS, "reason": "Bruising and a", "autosave": "1", "draft_version": "4"},
        headers=AUTOSAVE,
    )
    assert late.status_code == 409
    assert json.loads(late.content) == {
        "saved": False,
        "message": errors.DRAFT_CHANGED_ELSEWHERE,
        "version": 5,
    }
    draft.refresh_from_db()
    assert (draft.payload["reason"], draft.version) == ([final], 5)
    assert _draft_rows(draft) == rows
    check = client.get(check_url(child))
    assert final in check.content.decode()
    assert "Bruising and a<" not in check.content.decode()
    assert 'name="draft_version" value="5"' in check.content.decode()


def test_nothing_is_sent_without_the_check_page_at_that_version(
    client: Client, dsl: Any, child: Child
) -> None:
    """(b) A send never seen is not sent; an edit in another tab after the check sends the
    person back to check again."""
    signed_in(client, dsl)
    client.post(form_url(child), {**REFERRAL_ANSWERS, "continue": "1", "draft_version": "1"})
    unseen = client.post(check_url(child), {"draft_version": "1"})
    assert unseen["Location"] == check_url(child)
    assert not Referral.objects.exists()
    page = client.get(check_url(child)).content.decode()
    assert errors.REFERRAL_NOT_CHECKED in page
    # Another tab saves newer answers after this check page was shown.
    other_tab = client.post(
        form_url(child),
        {
            **REFERRAL_ANSWERS,
            "reason": "Typed in the other tab.",
            "autosave": "1",
            "draft_version": "2",
        },
        headers=AUTOSAVE,
    )
    assert other_tab.status_code == 200
    changed = client.post(check_url(child), {"draft_version": "1"})
    assert changed["Location"] == check_url(child)
    assert not Referral.objects.exists()
    again = client.get(check_url(child)).content.decode()
    assert errors.REFERRAL_CHANGED_SINCE_CHECKED in again
    assert "Typed in the other tab." in again
    # An old check page (version 1) still cannot send what is now version 2.
    assert client.post(check_url(child), {"draft_version": "1"})["Location"] == check_url(child)
    assert not Referral.objects.exists()
    sent = client.post(check_url(child), {"draft_version": "2"})
    referral = Referral.objects.get()
    assert sent["Location"] == f"/referrals/{referral.pk}/"
    assert referral.reason == "Typed in the other tab."
    assert not Draft.objects.filter(closed_at__isnull=True).exists()


def test_a_send_without_a_version_is_not_sent(client: Client, dsl: Any, child: Child) -> None:
    signed_in(client, dsl)
    client.post(form_url(child), {**REFERRAL_ANSWERS, "continue": "1"})
    client.get(check_url(child))
    assert client.post(check_url(child))["Location"] == check_url(child)
    assert not Referral.objects.exists()


def test_answers_that_cannot_be_sent_go_back_to_the_form_not_to_a_form_at_the_send_address(
    client: Client, dsl: Any, child: Child
) -> None:
    """(c) The stored draft is incomplete: the check address sends the person to the form,
    which shows what is missing and posts to its own address."""
    signed_in(client, dsl)
    client.post(
        form_url(child),
        {"reason": "Only this so far.", "autosave": "1", "draft_version": "1"},
        headers=AUTOSAVE,
    )
    for method in ("get", "post"):
        response = getattr(client, method)(check_url(child))
        assert response.status_code == 302
        assert response["Location"] == f"{form_url(child)}?errors=1"
    assert not Referral.objects.exists()
    page = client.get(f"{form_url(child)}?errors=1")
    text = page.content.decode()
    assert page.status_code == 200
    assert "There is a problem" in text
    assert "Select how urgent this is" in text
    assert "Enter what you want to happen" in text
    assert "Only this so far." in text
    assert f'<form method="post" action="{form_url(child)}"' in text
    assert f'action="{check_url(child)}"' not in text
    assert 'name="draft_version" value="1"' in text


def test_a_form_posted_over_newer_answers_keeps_what_was_typed_and_says_why(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    client.post(
        form_url(child),
        {
            **REFERRAL_ANSWERS,
            "reason": "Newer, from another tab.",
            "autosave": "1",
            "draft_version": "8",
        },
        headers=AUTOSAVE,
    )
    stale = client.post(
        form_url(child),
        {**REFERRAL_ANSWERS, "reason": "This tab's.", "continue": "1", "draft_version": "3"},
    )
    page = stale.content.decode()
    assert stale.status_code == 400
    assert "changed in another window or tab" in page
    assert "This tab&#x27;s." in page
    assert 'name="draft_version" value="8"' in page
    assert Draft.objects.get().payload["reason"] == ["Newer, from another tab."]
    again = client.post(
        form_url(child),
        {**REFERRAL_ANSWERS, "reason": "This tab's.", "continue": "1", "draft_version": "8"},
    )
    assert again["Location"] == check_url(child)
    draft = Draft.objects.get()
    assert (draft.payload["reason"], draft.version) == (["This tab's."], 9)


@pytest.mark.parametrize("version", ["abc", "-3", "99999999999", "1" * 5000])
def test_a_version_that_is_not_a_version_is_refused(
    client: Client, dsl: Any, child: Child, version: str
) -> None:
    signed_in(client, dsl)
    response = client.post(
        form_url(child),
        {"reason": "x", "autosave": "1", "draft_version": version},
        headers=AUTOSAVE,
    )
    assert response.status_code == 400
    assert json.loads(response.content)["message"] == errors.DRAFT_VERSION_INVALID
    assert not Draft.objects.exists()


# Versioned drafts: the concern ------------------------------------------------------------------


def test_the_concern_form_carries_the_stored_version_and_refuses_an_older_save(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = f"/children/{child.pk}/concerns/new/"
    assert 'name="draft_version" value="0"' in client.get(url).content.decode()
    client.post(
        url, {"what_happened": "Newer", "autosave": "1", "draft_version": "4"}, headers=AUTOSAVE
    )
    assert 'name="draft_version" value="4"' in client.get(url).content.decode()
    draft = Draft.objects.get()
    rows = _draft_rows(draft)
    late = client.post(
        url, {"what_happened": "Older", "autosave": "1", "draft_version": "3"}, headers=AUTOSAVE
    )
    assert late.status_code == 409
    # "Save draft" from a page older than the draft: not saved, but nothing typed is lost.
    button = client.post(
        url, {"what_happened": "Typed here", "save_draft": "1", "draft_version": "2"}
    )
    page = button.content.decode()
    assert errors.DRAFT_CHANGED_ELSEWHERE.replace("'", "&#x27;") in page
    assert "Typed here" in page
    assert 'name="draft_version" value="4"' in page
    draft.refresh_from_db()
    assert (draft.payload["what_happened"], draft.version) == (["Newer"], 4)
    assert _draft_rows(draft) == rows
    # Submitting records the concern from what was posted, whatever the draft holds.
    done = client.post(url, concern_post(draft_version="2"))
    assert done.status_code == 302
    assert not Draft.objects.filter(closed_at__isnull=True).exists()
