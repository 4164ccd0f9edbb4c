"""The concern and referral pages through the Django test client: every rejection, every
outsider's 404 and the audit row of every view, write and download."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from referrals.audit import audit_readers_of
from referrals.concerns.attachments import attachment_create
from referrals.concerns.files import ATTACHMENT_MAX_BYTES
from referrals.models import (
    Addendum,
    Attachment,
    AttachmentType,
    AuditAction,
    AuditEvent,
    Child,
    Concern,
    Draft,
    Referral,
)
from tests import factories
from tests.conftest import World, signed_in, stored_files
from tests.files import docx_bytes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def audited(actor: Any, action: str, target_type: str, target_id: Any = None) -> bool:
    events = AuditEvent.objects.filter(target_type=target_type)
    if target_id is not None:  # alone, or among a list's (issue 17)
        events = audit_readers_of(target_type=target_type, target_id=target_id)
    return events.filter(actor=actor, action=action).exists()


def concern_post(**overrides: Any) -> dict[str, Any]:
    now = timezone.localtime() - datetime.timedelta(hours=1)
    data = {
        "urgency": "urgent",
        "observed_today": "no",
        "observed_day": str(now.day),
        "observed_month": str(now.month),
        "observed_year": str(now.year),
        "observed_time": now.strftime("%H:%M"),
        "location": "Playground",
        "categories": ["physical"],
        "what_happened": "A bruise on the arm, said she fell.",
        "childs_words": "Dad got cross.",
        "injury_region": ["front-left-upper-arm"],
        "injury_note": ["Bruise 3 cm, purple"],
        "submit": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def child(world: World) -> Child:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Amy", last_name="Example"
    )


@pytest.fixture
def concern(world: World, teacher: Any, child: Child) -> Concern:
    return factories.ConcernFactory.create(agency=world.riverside, child=child, raised_by=teacher)


@pytest.fixture
def referral(world: World, dsl: Any, concern: Concern) -> Referral:
    referral = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, child=concern.child, team=world.front_door
    )
    referral.concerns.add(concern)
    return referral


# Recording a concern -------------------------------------------------------------------------


def test_it_records_a_concern_with_a_body_map_entry_and_a_file(
    client: Client, teacher: Any, child: Child, media_root: Path
) -> None:
    signed_in(client, teacher)
    url = f"/children/{child.pk}/concerns/new/"
    page = client.get(url)
    assert page.status_code == 200
    assert "call 999" in page.content.decode()
    assert "01632 960001" in page.content.decode()  # the authority's front door
    response = client.post(
        url, concern_post(attachment=SimpleUploadedFile("bruise.png", PNG, "image/png"))
    )
    concern = Concern.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/concerns/{concern.pk}/"
    assert concern.injuries == [{"region": "front-left-upper-arm", "note": "Bruise 3 cm, purple"}]
    assert (concern.urgency, concern.childs_words) == ("urgent", "Dad got cross.")
    attachment = Attachment.objects.get()
    assert (attachment.concern, attachment.content_type, attachment.name) == (
        concern,
        "image/png",
        "bruise.png",
    )
    assert stored_files(media_root) == [Path(attachment.file.path)]
    assert "bruise" not in str(attachment.file.name)  # the person's name never reaches disk
    assert audited(teacher, AuditAction.CREATE, "referrals.concern", concern.pk)
    assert audited(teacher, AuditAction.CREATE, "referrals.attachment", attachment.pk)
    assert audited(teacher, AuditAction.VIEW, "referrals.child", child.pk)


def test_missing_required_fields_show_clear_messages_and_store_no_concern(
    client: Client, teacher: Any, child: Child, media_root: Path
) -> None:
    signed_in(client, teacher)
    response = client.post(
        f"/children/{child.pk}/concerns/new/",
        concern_post(
            what_happened="",
            observed_day="",
            observed_month="",
            observed_year="",
            attachment=SimpleUploadedFile("note.txt", b"Notes", "text/plain"),
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Enter what happened" in page
    assert "Enter the date it happened" in page
    assert 'href="#id_what_happened"' in page
    assert not Concern.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []
    # What was typed is kept as the person's own draft, never lost.
    assert Draft.objects.get(owner=teacher).payload["childs_words"] == ["Dad got cross."]


@pytest.mark.parametrize(
    ("name", "content", "claimed"),
    [
        ("photo.jpg", b"MZ\x90\x00\x03" + b"\x00" * 100, "image/jpeg"),  # a Windows program
        ("report.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("letter.docx", b"PK\x03\x04" + b"\x00" * 100, "application/msword"),  # not a .docx
        ("notes.txt", b"\x00\x01\x02binary\xff\xfe", "text/plain"),
    ],
)
def test_a_disguised_file_is_refused_and_nothing_is_stored(
    client: Client,
    teacher: Any,
    child: Child,
    media_root: Path,
    name: str,
    content: bytes,
    claimed: str,
) -> None:
    signed_in(client, teacher)
    response = client.post(
        f"/children/{child.pk}/concerns/new/",
        concern_post(attachment=SimpleUploadedFile(name, content, claimed)),
    )
    page = response.content.decode()
    assert "There is a problem" in page
    assert "must be a PDF, PNG, JPEG, Word document (.docx) or plain text file" in page
    assert not Concern.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_an_oversized_file_is_refused_and_nothing_is_stored(
    client: Client, teacher: Any, concern: Concern, media_root: Path
) -> None:
    signed_in(client, teacher)
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * ATTACHMENT_MAX_BYTES, "application/pdf")
    response = client.post(f"/concerns/{concern.pk}/files/", {"attachment": big})
    assert response.status_code == 400
    assert "The selected file must be smaller than 10 MB" in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_an_empty_upload_form_asks_for_a_file(
    client: Client, teacher: Any, concern: Concern, media_root: Path
) -> None:
    signed_in(client, teacher)
    response = client.post(f"/concerns/{concern.pk}/files/", {})
    assert "Select a file" in response.content.decode()
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "expected_type", "expected_name"),
    [
        ("scan.pdf", PDF, "application/pdf", "scan.pdf"),
        ("letter.docx", docx_bytes(), AttachmentType.DOCX, "letter.docx"),
        ("photo.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image/jpeg", "photo.jpg"),
        ("minutes.pdf", b"Minutes of the meeting.\n", "text/plain", "minutes.txt"),
    ],
)
def test_the_type_comes_from_the_content_not_the_name(
    teacher: Any,
    concern: Concern,
    media_root: Path,
    name: str,
    content: bytes,
    expected_type: str,
    expected_name: str,
) -> None:
    upload = SimpleUploadedFile(name, content, "application/octet-stream")
    attachment = attachment_create(user=teacher, upload=upload, concern=concern)
    assert (attachment.content_type, attachment.name) == (expected_type, expected_name)


def test_the_download_is_audited_and_never_shown_in_the_browser(
    client: Client, teacher: Any, dsl: Any, concern: Concern, media_root: Path
) -> None:
    attachment = attachment_create(
        user=teacher,
        upload=SimpleUploadedFile("page.txt", b"<b>bold</b> text", "text/html"),
        concern=concern,
    )
    signed_in(client, dsl)
    response = client.get(f"/files/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "text/plain"
    assert b"".join(response.streaming_content) == b"<b>bold</b> text"  # type: ignore[attr-defined]
    assert audited(dsl, AuditAction.DOWNLOAD, "referrals.attachment", attachment.pk)


def test_files_are_stored_outside_any_web_served_folder(settings: Any) -> None:
    media = Path(settings.MEDIA_ROOT).resolve()
    served = [
        Path(p if isinstance(p, str | Path) else p[1]).resolve() for p in settings.STATICFILES_DIRS
    ]
    assert not any(media.is_relative_to(folder) for folder in served)
    assert not settings.MEDIA_URL or settings.MEDIA_URL == "/"  # no URL serves media
    from django.urls import Resolver404, resolve

    with pytest.raises(Resolver404):
        resolve("/media/attachments/x.png")


# Drafts --------------------------------------------------------------------------------------


def test_autosave_keeps_the_draft_and_audits_each_change(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = f"/children/{child.pk}/concerns/new/"
    headers = {"X-Requested-With": "fetch"}
    typed = {"autosave": "1", "what_happened": "Started typing"}
    first = client.post(url, {**typed, "draft_version": "1"}, headers=headers)
    assert first.status_code == 200
    assert json.loads(first.content)["saved"] is True
    client.post(url, {**typed, "draft_version": "2"}, headers=headers)
    more = {"autosave": "1", "what_happened": "Started typing more", "draft_version": "3"}
    client.post(url, more, headers=headers)
    draft = Draft.objects.get(owner=teacher, child=child)
    assert draft.payload["what_happened"] == ["Started typing more"]
    actions = list(
        AuditEvent.objects.filter(target_type="referrals.draft").values_list("action", flat=True)
    )
    assert actions == [AuditAction.CREATE, AuditAction.UPDATE]  # unchanged saves write nothing
    # Offered back: on the home page and in the form itself.
    home = client.get("/").content.decode()
    assert "Continue the concern about Amy Example" in home
    form = client.get(url).content.decode()
    assert "We have restored the draft" in form
    assert "Started typing more" in form


def test_the_save_draft_button_works_without_javascript(
    client: Client, teacher: Any, child: Child
) -> None:
    signed_in(client, teacher)
    url = f"/children/{child.pk}/concerns/new/"
    response = client.post(url, {"what_happened": "Typed", "save_draft": "1"})
    assert response.status_code == 302
    assert Draft.objects.get(owner=teacher).payload["what_happened"] == ["Typed"]
    added = client.post(
        url,
        {
            "what_happened": "Typed",
            "injury_add_region": "back-lower",
            "add_injury": "1",
            "draft_version": "1",  # the page after "Save draft" carries the stored version
        },
    )
    assert added.status_code == 302
    assert Draft.objects.get(owner=teacher).payload["injury_region"] == ["back-lower"]
    assert "Lower back" in client.get(url).content.decode()


def test_submitting_closes_the_draft(client: Client, teacher: Any, child: Child) -> None:
    signed_in(client, teacher)
    url = f"/children/{child.pk}/concerns/new/"
    client.post(url, {"autosave": "1", "what_happened": "x"}, headers={"X-Requested-With": "fetch"})
    client.post(url, concern_post())
    draft = Draft.objects.get()  # closed, not deleted: nothing typed kept, the version kept
    assert (draft.closed_at is not None, draft.payload, draft.version) == (True, {}, 1)


def test_nobody_else_sees_a_draft(client: Client, teacher: Any, dsl: Any, child: Child) -> None:
    signed_in(client, teacher)
    client.post(
        f"/children/{child.pk}/concerns/new/",
        {"autosave": "1", "what_happened": "Private"},
        headers={"X-Requested-With": "fetch"},
    )
    draft = Draft.objects.get()
    signed_in(client, dsl)
    assert "Private" not in client.get(f"/children/{child.pk}/concerns/new/").content.decode()
    assert client.post(f"/drafts/{draft.pk}/delete/").status_code == 404


# Finding the child ---------------------------------------------------------------------------


def test_likely_matches_come_from_the_agencys_children_only(
    client: Client, teacher: Any, world: World, child: Child
) -> None:
    factories.ChildFactory.create(
        created_by_agency=world.hillview, first_name="Amy", last_name="Example"
    )
    signed_in(client, teacher)
    response = client.post(
        "/concerns/new/",
        {
            "first_name": "amy",
            "last_name": "example",
            "dob_day": "1",
            "dob_month": "6",
            "dob_year": "2015",
        },
    )
    page = response.content.decode()
    assert "Is it one of these children?" in page
    assert page.count("Record a concern<span") == 1
    assert f'action="/children/find/concern/{child.pk}/"' in page
    assert audited(teacher, AuditAction.LIST, "referrals.child", child.pk)
    assert "Amy" not in response.request["QUERY_STRING"]


def test_a_new_child_is_added_after_the_search(client: Client, teacher: Any, world: World) -> None:
    signed_in(client, teacher)
    client.post("/concerns/new/", {"first_name": "Zed", "last_name": "Newchild"})
    missing = client.post("/children/new/concern/", {"first_name": "Zed"})
    page = missing.content.decode()
    assert "Enter a last name" in page
    assert "Enter the date of birth" in page
    assert "Select the child&#x27;s sex" in page
    bad = client.post(
        "/children/new/concern/",
        {
            "first_name": "Zed",
            "last_name": "Newchild",
            "dob_day": "2",
            "dob_month": "3",
            "dob_year": "2016",
            "sex": "male",
            "nhs_number": "9434765918",
        },
    )
    assert "Enter a valid 10-digit NHS number" in bad.content.decode()
    assert not Child.objects.filter(last_name="Newchild").exists()
    made = client.post(
        "/children/new/concern/",
        {
            "first_name": "Zed",
            "last_name": "Newchild",
            "dob_day": "2",
            "dob_month": "3",
            "dob_year": "2016",
            "sex": "male",
            "nhs_number": "943 476 5919",
        },
    )
    child = Child.objects.get(last_name="Newchild")
    assert made["Location"] == f"/children/{child.pk}/concerns/new/"
    assert (child.created_by_agency, child.nhs_number) == (world.riverside, "9434765919")
    assert audited(teacher, AuditAction.CREATE, "referrals.child", child.pk)


# Review, addenda, chronology -----------------------------------------------------------------


def test_the_review_queue_puts_the_most_urgent_then_the_oldest_first(
    client: Client, dsl: Any, teacher: Any, world: World, child: Child
) -> None:
    old = factories.ConcernFactory.create(agency=world.riverside, child=child, raised_by=teacher)
    urgent = factories.ConcernFactory.create(
        agency=world.riverside, child=child, raised_by=teacher, urgency="urgent"
    )
    immediate = factories.ConcernFactory.create(
        agency=world.riverside, child=child, raised_by=teacher, urgency="immediate"
    )
    newer = factories.ConcernFactory.create(agency=world.riverside, child=child, raised_by=teacher)
    Concern.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))
    factories.ConcernFactory.create(agency=world.hillview, raised_by=teacher)
    signed_in(client, dsl)
    response = client.get("/concerns/")
    assert [c.pk for c in response.context["queue"]] == [immediate.pk, urgent.pk, old.pk, newer.pk]
    for shown in (immediate, urgent, old, newer):
        assert audited(dsl, AuditAction.LIST, "referrals.concern", shown.pk)


def test_staff_see_only_the_concerns_they_raised(
    client: Client, teacher: Any, world: World, child: Child
) -> None:
    colleague = factories.UserFactory.create()
    factories.MembershipFactory.create(user=colleague, agency=world.riverside, role="staff")
    theirs = factories.ConcernFactory.create(
        agency=world.riverside, child=child, raised_by=colleague
    )
    signed_in(client, teacher)
    assert client.get(f"/concerns/{theirs.pk}/").status_code == 404
    assert client.get("/concerns/").context["queue"] == []


def test_the_lead_reviews_with_a_required_reason(
    client: Client, dsl: Any, concern: Concern
) -> None:
    signed_in(client, dsl)
    url = f"/concerns/{concern.pk}/review/"
    missing = client.post(url, {"outcome": "refer"})
    assert "Enter the reason for your decision" in missing.content.decode()
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    done = client.post(url, {"outcome": "refer", "rationale": "Second bruise this month."})
    assert done["Location"] == f"/children/{concern.child_id}/referrals/new/?concern={concern.pk}"
    concern.refresh_from_db()
    assert (concern.status, concern.review_outcome) == ("reviewed", "refer")
    assert audited(dsl, AuditAction.REVIEW, "referrals.concern", concern.pk)


def test_staff_may_not_review(client: Client, teacher: Any, concern: Concern) -> None:
    signed_in(client, teacher)
    assert client.get(f"/concerns/{concern.pk}/review/").status_code == 403


def test_a_concern_is_never_edited_only_added_to(
    client: Client, teacher: Any, concern: Concern
) -> None:
    signed_in(client, teacher)
    empty = client.post(f"/concerns/{concern.pk}/addenda/", {"text": "  "})
    assert empty.status_code == 400
    assert "Enter what you want to add to this concern" in empty.content.decode()
    client.post(f"/concerns/{concern.pk}/addenda/", {"text": "She came back today, smiling."})
    addendum = Addendum.objects.get()
    before = concern.what_happened
    concern.refresh_from_db()
    assert concern.what_happened == before
    assert audited(teacher, AuditAction.CREATE, "referrals.addendum", addendum.pk)
    page = client.get(f"/concerns/{concern.pk}/").content.decode()
    assert "She came back today, smiling." in page


def test_the_chronology_shows_everything_in_time_order_and_audits_it(
    client: Client, dsl: Any, referral: Referral, concern: Concern
) -> None:
    from referrals.concerns.services import addendum_create

    addendum_create(user=dsl, concern=concern, text="Spoke to mum.")
    signed_in(client, dsl)
    response = client.get(f"/children/{concern.child_id}/")
    titles = [entry.title for entry in response.context["entries"]]
    assert titles[0] == "Concern recorded"
    assert "Added to a concern" in titles
    times = [entry.at for entry in response.context["entries"]]
    assert times == sorted(times)
    assert audited(dsl, AuditAction.VIEW, "referrals.child", concern.child_id)
    assert audited(dsl, AuditAction.LIST, "referrals.concern", concern.pk)
    assert audited(dsl, AuditAction.LIST, "referrals.referral", referral.pk)


# Referrals -----------------------------------------------------------------------------------


REFERRAL_ANSWERS = {
    "urgency": "urgent",
    "category": "physical",
    "factors": ["domestic_abuse"],
    "reason": "Repeated bruising, child says dad gets cross.",
    "desired_outcome": "A strategy discussion.",
    "consent": "not_sought",
    "consent_reason": "Risk of significant harm; telling the family could increase it.",
    "parents_aware": "no",
    "referrer_name": "Dina Lead",
    "referrer_phone": "01632 960999",
    "referrer_email": "dsl@riverside.test",
}


def test_the_lead_refers_from_concerns_after_checking_the_answers(
    client: Client, dsl: Any, concern: Concern, world: World, social_worker: Any
) -> None:
    signed_in(client, dsl)
    url = f"/children/{concern.child_id}/referrals/new/"
    form = client.get(f"{url}?concern={concern.pk}")
    assert f'value="{concern.pk}" checked' in form.content.decode()
    no_reason = client.post(url, {**REFERRAL_ANSWERS, "consent_reason": "", "continue": "1"})
    assert "Enter why consent was refused or not sought" in no_reason.content.decode()
    assert not Referral.objects.exists()
    answers = client.post(
        url,
        {
            **REFERRAL_ANSWERS,
            "concerns": [str(concern.pk)],
            "continue": "1",
            "draft_version": no_reason.context["draft_version"],
        },
    )
    assert answers["Location"] == f"/children/{concern.child_id}/referrals/check/"
    check = client.get(answers["Location"])
    assert "Check your answers before sending the referral" in check.content.decode()
    assert not Referral.objects.exists()
    version = check.context["draft_version"]
    sent = client.post(answers["Location"], {"draft_version": version})
    referral = Referral.objects.get()
    assert sent["Location"] == f"/referrals/{referral.pk}/"
    assert (referral.status, referral.team, referral.consent) == (
        "submitted",
        world.front_door,
        "not_sought",
    )
    assert list(referral.concerns.all()) == [concern]
    assert referral.acknowledge_due_at is not None
    assert not Draft.objects.filter(closed_at__isnull=True).exists()
    assert audited(dsl, AuditAction.SUBMIT, "referrals.referral", referral.pk)
    from referrals.visibility import referral_list_for_user

    assert referral in referral_list_for_user(user=social_worker)


def test_police_refer_from_scratch(
    client: Client, police_officer: Any, world: World, social_worker: Any
) -> None:
    signed_in(client, police_officer)
    assert client.get("/referrals/new/").status_code == 200
    client.post("/referrals/new/", {"first_name": "Cara", "last_name": "Specimen"})
    client.post(
        "/children/new/referral/",
        {
            "first_name": "Cara",
            "last_name": "Specimen",
            "dob_day": "30",
            "dob_month": "11",
            "dob_year": "2012",
            "sex": "female",
        },
    )
    child = Child.objects.get(last_name="Specimen")
    client.post(
        f"/children/{child.pk}/referrals/new/",
        {**REFERRAL_ANSWERS, "consent": "given", "continue": "1"},
    )
    check = client.get(f"/children/{child.pk}/referrals/check/")
    client.post(
        f"/children/{child.pk}/referrals/check/", {"draft_version": check.context["draft_version"]}
    )
    referral = Referral.objects.get()
    assert (referral.referring_agency, referral.cin_referral_source) == (world.police, "6")
    assert referral.team == world.front_door


def test_staff_cannot_make_referrals(client: Client, teacher: Any, child: Child) -> None:
    signed_in(client, teacher)
    assert client.get("/referrals/new/").status_code == 403
    assert client.get(f"/children/{child.pk}/referrals/new/").status_code == 403


def test_my_referrals_show_status_deadline_and_outcome_and_withdraw(
    client: Client, dsl: Any, referral: Referral, world: World
) -> None:
    decided = factories.DecidedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    factories.DecisionFactory.create(referral=decided)
    signed_in(client, dsl)
    page = client.get("/referrals/mine/").content.decode()
    assert "Early help" in page
    assert f"/referrals/{referral.pk}/withdraw/" in page
    assert f"/referrals/{decided.pk}/withdraw/" not in page
    assert audited(dsl, AuditAction.LIST, "referrals.referral", decided.pk)
    detail = client.get(f"/referrals/{decided.pk}/").content.decode()
    assert "Early help will contact the family." in detail
    assert client.get(f"/referrals/{decided.pk}/withdraw/").status_code == 403
    empty = client.post(f"/referrals/{referral.pk}/withdraw/", {"reason": ""})
    assert "Enter why you are withdrawing this referral" in empty.content.decode()
    client.post(f"/referrals/{referral.pk}/withdraw/", {"reason": "Sent in error."})
    referral.refresh_from_db()
    assert (referral.status, referral.withdrawal_reason) == ("withdrawn", "Sent in error.")
    assert audited(dsl, AuditAction.WITHDRAW, "referrals.referral", referral.pk)


def test_a_file_is_added_to_a_referral(
    client: Client, dsl: Any, referral: Referral, media_root: Path
) -> None:
    signed_in(client, dsl)
    response = client.post(
        f"/referrals/{referral.pk}/files/",
        {"attachment": SimpleUploadedFile("chronology.pdf", PDF, "application/pdf")},
    )
    assert response["Location"] == f"/referrals/{referral.pk}/"
    attachment = Attachment.objects.get(referral=referral)
    assert audited(dsl, AuditAction.CREATE, "referrals.attachment", attachment.pk)
    assert "chronology.pdf" in client.get(f"/referrals/{referral.pk}/").content.decode()


# Outsiders -----------------------------------------------------------------------------------


def _urls(concern: Concern, referral: Referral, attachment: Attachment) -> list[tuple[str, str]]:
    child = concern.child_id
    return [
        ("get", f"/concerns/{concern.pk}/"),
        ("get", f"/concerns/{concern.pk}/review/"),
        ("post", f"/concerns/{concern.pk}/review/"),
        ("post", f"/concerns/{concern.pk}/addenda/"),
        ("get", f"/concerns/{concern.pk}/files/"),
        ("get", f"/files/{attachment.pk}/"),
        ("get", f"/children/{child}/"),
        ("get", f"/children/{child}/concerns/new/"),
        ("post", f"/children/{child}/concerns/new/"),
        ("get", f"/children/{child}/referrals/new/"),
        ("get", f"/children/{child}/referrals/check/"),
        ("get", f"/referrals/{referral.pk}/"),
        ("get", f"/referrals/{referral.pk}/withdraw/"),
        ("post", f"/referrals/{referral.pk}/withdraw/"),
        ("get", f"/referrals/{referral.pk}/files/"),
    ]


@pytest.mark.parametrize("person", ["other_school_dsl", "southvale_dsl", "outsider"])
def test_outsiders_get_404_on_every_url_of_the_concern_and_referral(
    client: Client,
    request: pytest.FixtureRequest,
    person: str,
    referral: Referral,
    concern: Concern,
    teacher: Any,
    media_root: Path,
) -> None:
    attachment = attachment_create(
        user=teacher, upload=SimpleUploadedFile("a.txt", b"text", "text/plain"), concern=concern
    )
    user = request.getfixturevalue(person)
    signed_in(client, user)
    for method, url in _urls(concern, referral, attachment):
        if person == "outsider" and url.endswith(("/referrals/new/", "/check/")):
            continue  # a social worker may hold neither capability: a 403 says nothing either
        response = getattr(client, method)(url, {"reason": "x", "text": "x"})
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Amy" not in response.content.decode()
    assert AuditEvent.objects.filter(actor=user, action=AuditAction.DENIED).count() >= 10
    assert not AuditEvent.objects.filter(actor=user, action=AuditAction.VIEW).exists()
    assert not Addendum.objects.exists()


def test_every_page_that_shows_a_record_audits_the_read(
    client: Client, dsl: Any, referral: Referral, concern: Concern, media_root: Path
) -> None:
    attachment = attachment_create(
        user=dsl, upload=SimpleUploadedFile("a.txt", b"text", "text/plain"), concern=concern
    )
    signed_in(client, dsl)
    child = concern.child_id
    pages = [
        (f"/concerns/{concern.pk}/", AuditAction.VIEW, "referrals.concern"),
        (f"/concerns/{concern.pk}/review/", AuditAction.VIEW, "referrals.concern"),
        (f"/concerns/{concern.pk}/files/", AuditAction.VIEW, "referrals.concern"),
        ("/concerns/", AuditAction.LIST, "referrals.concern"),
        (f"/files/{attachment.pk}/", AuditAction.DOWNLOAD, "referrals.attachment"),
        (f"/children/{child}/", AuditAction.VIEW, "referrals.child"),
        (f"/children/{child}/concerns/new/", AuditAction.VIEW, "referrals.child"),
        (f"/children/{child}/referrals/new/", AuditAction.VIEW, "referrals.child"),
        (f"/referrals/{referral.pk}/", AuditAction.VIEW, "referrals.referral"),
        (f"/referrals/{referral.pk}/withdraw/", AuditAction.VIEW, "referrals.referral"),
        (f"/referrals/{referral.pk}/files/", AuditAction.VIEW, "referrals.referral"),
        ("/referrals/mine/", AuditAction.LIST, "referrals.referral"),
    ]
    for url, action, target_type in pages:
        before = AuditEvent.objects.filter(actor=dsl, action=action, target_type=target_type)
        count = before.count()
        assert client.get(url).status_code == 200, url
        assert before.count() > count, url
