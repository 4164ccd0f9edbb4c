"""A draft made into a record (a concern submitted, a referral sent) or deleted is closed, not
deleted: its answers emptied, its version kept. An autosave still on its way when the form was
posted then finds it closed and is refused, instead of making an "Unfinished draft" about a
child whose concern or referral was already made. A form opened since counts up from above it.
"""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.utils import timezone

from referrals.core import errors
from referrals.models import AuditAction, AuditEvent, Child, Concern, Draft, Referral
from tests import factories
from tests.conftest import World, signed_in
from tests.referrals.web.conftest import (
    AUTOSAVE,
    check_url,
    concern_url,
    form_url,
)
from tests.referrals.web.test_concern_pages import REFERRAL_ANSWERS, concern_post

CLOSED_MESSAGE = "This form was already sent or deleted. Nothing was saved."


def _draft_audit_rows() -> list[tuple[str, dict[str, Any]]]:
    events = AuditEvent.objects.filter(target_type="referrals.draft").order_by("id")
    return [(event.action, event.data) for event in events]


def _open_drafts() -> int:
    return Draft.objects.filter(closed_at__isnull=True).count()


def _autosave(client: Client, url: str, version: int, answers: dict[str, Any]) -> Any:
    return client.post(
        url, {**answers, "autosave": "1", "draft_version": str(version)}, headers=AUTOSAVE
    )


def _rendered_version(page: Any) -> int:
    return int(page.context["draft_version"])


def _no_draft_offered(client: Client) -> None:
    """Neither the home page nor the drafts page offers a draft back."""
    home = client.get("/")
    assert home.context["drafts"] == []
    text = home.content.decode()
    assert "Unfinished drafts" not in text
    assert "Continue the" not in text
    drafts = client.get("/drafts/")
    assert drafts.context["pages"].rows == []
    assert "You have no unfinished drafts." in drafts.content.decode()


def _send_referral(client: Client, child: Child) -> Referral:
    """Type (three autosaves), Continue (version 5, above an autosave still on its way at 4),
    check, Send: the way the form and its script number their saves."""
    url = form_url(child)
    for version, text in enumerate(["Bruis", "Bruising", "Bruising and"], start=1):
        assert (
            _autosave(client, url, version, {**REFERRAL_ANSWERS, "reason": text}).status_code == 200
        )
    final = "Bruising and a disclosure about dad."
    posted = client.post(
        url, {**REFERRAL_ANSWERS, "reason": final, "continue": "1", "draft_version": "5"}
    )
    assert posted["Location"] == check_url(child)
    check = client.get(check_url(child))
    assert _rendered_version(check) == 5
    sent = client.post(check_url(child), {"draft_version": "5"})
    referral = Referral.objects.get()
    assert sent["Location"] == f"/referrals/{referral.pk}/"
    assert referral.reason == final
    return referral


# (1) The referral ------------------------------------------------------------------------------


def test_an_autosave_arriving_after_the_referral_was_sent_is_refused(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    _send_referral(client, child)
    draft = Draft.objects.get()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 5, True)
    rows = _draft_audit_rows()
    assert rows[-1] == (
        AuditAction.UPDATE,
        {"kind": "referral", "child": child.pk, "version": 5, "discarded": True},
    )
    # The autosave numbered 4, on its way when Continue was pressed, and one at the very
    # version that was sent: both refused, nothing written, nothing audited.
    for version in (4, 5):
        late = _autosave(client, form_url(child), version, REFERRAL_ANSWERS)
        assert late.status_code == 409
        body = json.loads(late.content)
        assert (body["saved"], body["message"]) == (False, errors.DRAFT_CLOSED)
        assert body["message"] == CLOSED_MESSAGE
    assert _open_drafts() == 0
    draft.refresh_from_db()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 5, True)
    assert _draft_audit_rows() == rows
    _no_draft_offered(client)
    # The check page has nothing to send: back to the form, and no second referral.
    assert client.get(check_url(child))["Location"] == form_url(child)
    assert client.post(check_url(child), {"draft_version": "5"})["Location"] == form_url(child)
    assert Referral.objects.count() == 1


def test_a_check_page_open_in_another_tab_cannot_send_the_sent_draft_again(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    _send_referral(client, child)
    # The other tab's check page was shown at version 5 too: the session still remembers it.
    session = client.session
    session["referral_checked"] = {str(Draft.objects.get().pk): 5}
    session.save()
    assert client.post(check_url(child), {"draft_version": "5"})["Location"] == form_url(child)
    assert Referral.objects.count() == 1


# (2) The concern -------------------------------------------------------------------------------


def test_an_autosave_arriving_after_the_concern_was_submitted_is_refused(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = concern_url(child)
    for version, text in enumerate(["A bru", "A bruise", "A bruise on"], start=1):
        assert _autosave(client, url, version, {"what_happened": text}).status_code == 200
    # The script posts the form above every save it sent: 4 is still on its way.
    done = client.post(url, concern_post(draft_version="5"))
    concern = Concern.objects.get()
    assert done["Location"] == f"/concerns/{concern.pk}/"
    draft = Draft.objects.get()
    # Closed at the posted version, not the stored 3: the save numbered 4 cannot reopen it.
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 5, True)
    rows = _draft_audit_rows()
    for version in (4, 3):
        late = _autosave(client, url, version, {"what_happened": "A bruise on the"})
        assert late.status_code == 409
        assert json.loads(late.content)["message"] == errors.DRAFT_CLOSED
    assert _open_drafts() == 0
    draft.refresh_from_db()
    assert (draft.payload, draft.version) == ({}, 5)
    assert _draft_audit_rows() == rows
    _no_draft_offered(client)
    assert "We have restored the draft" not in client.get(url).content.decode()


def test_a_concern_submitted_before_its_first_autosave_arrived_is_not_brought_back(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = concern_url(child)
    client.post(url, concern_post(draft_version="2"))  # the autosave numbered 1 is on its way
    assert Concern.objects.count() == 1
    draft = Draft.objects.get()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 2, True)
    assert _draft_audit_rows() == [
        (
            AuditAction.CREATE,
            {"kind": "concern", "child": child.pk, "version": 2, "discarded": True},
        )
    ]
    late = _autosave(client, url, 1, {"what_happened": "A bruise"})
    assert late.status_code == 409
    assert _open_drafts() == 0
    assert len(_draft_audit_rows()) == 1
    _no_draft_offered(client)


def test_a_concern_submitted_without_the_script_closes_its_draft_at_the_stored_version(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = concern_url(child)
    _autosave(client, url, 3, {"what_happened": "Typed"})
    client.post(url, concern_post())  # no draft_version: the form had no script
    draft = Draft.objects.get()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 3, True)


# (3) A new form after sending ------------------------------------------------------------------


def test_a_new_referral_form_counts_up_from_above_the_sent_draft(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    _send_referral(client, child)
    form = client.get(form_url(child))
    shown = _rendered_version(form)
    assert shown >= 5
    assert f'name="draft_version" value="{shown}"' in form.content.decode()
    assert "We have restored the draft" not in form.content.decode()
    assert "Bruising" not in form.content.decode()  # nothing of the sent one is offered back
    rows = len(_draft_audit_rows())
    first = _autosave(client, form_url(child), shown + 1, {"reason": "A second worry."})
    assert first.status_code == 200
    assert json.loads(first.content)["version"] == shown + 1
    draft = Draft.objects.get()
    assert (draft.closed_at, draft.payload["reason"], draft.version) == (
        None,
        ["A second worry."],
        shown + 1,
    )
    assert _draft_audit_rows()[rows:] == [
        (
            AuditAction.UPDATE,
            {"kind": "referral", "child": child.pk, "version": shown + 1, "reopened": True},
        )
    ]
    assert "Continue the referral about Amy Example" in client.get("/").content.decode()
    assert len(client.get("/drafts/").context["pages"].rows) == 1


def test_a_new_referral_form_without_the_script_is_saved_at_the_version_it_shows(
    client: Client, dsl: Any, child: Child
) -> None:
    signed_in(client, dsl)
    _send_referral(client, child)
    shown = _rendered_version(client.get(form_url(child)))
    posted = client.post(
        form_url(child),
        {**REFERRAL_ANSWERS, "reason": "Again.", "continue": "1", "draft_version": str(shown)},
    )
    assert posted["Location"] == check_url(child)
    assert Draft.objects.get(closed_at__isnull=True).payload["reason"] == ["Again."]


def test_a_new_concern_form_counts_up_from_above_the_submitted_draft(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = concern_url(child)
    _autosave(client, url, 2, {"what_happened": "First"})
    client.post(url, concern_post(draft_version="3"))
    shown = _rendered_version(client.get(url))
    assert shown >= 3
    assert _autosave(client, url, shown + 1, {"what_happened": "Second"}).status_code == 200
    assert Draft.objects.get(closed_at__isnull=True).payload["what_happened"] == ["Second"]


def test_a_stale_page_posted_over_a_closed_draft_keeps_what_was_typed_and_says_why(
    client: Client, dsl: Any, child: Child
) -> None:
    """A form opened before the referral was sent, continued after (no script): not saved,
    the typing kept on the page, which now carries a version that saves it if continued."""
    signed_in(client, dsl)
    _send_referral(client, child)
    stale = client.post(
        form_url(child),
        {**REFERRAL_ANSWERS, "reason": "From the old tab.", "continue": "1", "draft_version": "3"},
    )
    page = stale.content.decode()
    assert stale.status_code == 400
    assert CLOSED_MESSAGE in page
    assert "From the old tab." in page
    assert _rendered_version(stale) > 5
    assert _open_drafts() == 0


# (4) Readers ignore closed drafts --------------------------------------------------------------


def test_the_drafts_list_and_home_ignore_closed_drafts(
    client: Client, world: World, teacher: Any, child: Child
) -> None:
    other = factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Ben", last_name="Other"
    )
    closed = Draft.objects.create(
        owner=teacher,
        agency=world.riverside,
        child=child,
        kind=Draft.Kind.CONCERN,
        payload={},
        version=4,
        closed_at=timezone.now(),
    )
    Draft.objects.create(
        owner=teacher,
        agency=world.riverside,
        child=other,
        kind=Draft.Kind.CONCERN,
        payload={"what_happened": ["Open"]},
        version=1,
    )
    signed_in(client, teacher)
    home = client.get("/")
    assert [draft.child for draft in home.context["drafts"]] == [other]
    cards = {card.title: card.count for card in home.context["cards"]}
    assert cards["Drafts"] == 1
    text = home.content.decode()
    assert "Continue the concern about Ben Other" in text
    assert "Continue the concern about Amy Example" not in text
    drafts = client.get("/drafts/")
    assert [draft.child for draft in drafts.context["pages"].rows] == [other]
    assert f"/drafts/{closed.pk}/delete/" not in drafts.content.decode()
    # Not offered back in its form, and not deletable again.
    form = client.get(concern_url(child))
    assert "We have restored the draft" not in form.content.decode()
    assert _rendered_version(form) == 5
    assert client.post(f"/drafts/{closed.pk}/delete/").status_code == 404


# (5) Deleting --------------------------------------------------------------------------------


def test_deleting_a_draft_closes_it_and_empties_its_answers(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = concern_url(child)
    _autosave(client, url, 1, {"what_happened": "Typed then thrown away"})
    _autosave(client, url, 2, {"what_happened": "Typed then thrown away, more"})
    draft = Draft.objects.get()
    deleted = client.post(f"/drafts/{draft.pk}/delete/", {"back": "drafts"})
    assert deleted["Location"] == "/drafts/"
    draft.refresh_from_db()
    assert (draft.payload, draft.version, draft.closed_at is not None) == ({}, 2, True)
    assert _draft_audit_rows()[-1] == (
        AuditAction.UPDATE,
        {"kind": "concern", "child": child.pk, "version": 2, "discarded": True},
    )
    rows = _draft_audit_rows()
    # The autosave that was on its way is refused; deleting again finds nothing.
    assert _autosave(client, url, 2, {"what_happened": "Typed then thrown"}).status_code == 409
    assert client.post(f"/drafts/{draft.pk}/delete/").status_code == 404
    assert _draft_audit_rows() == rows
    _no_draft_offered(client)
    form = client.get(url)
    assert "Typed then thrown away" not in form.content.decode()
    assert _rendered_version(form) == 3
