"""Issue 3 in Debian's Chromium: a teacher records a concern, the lead reviews and refers, the
referral reaches the front door, other schools see nothing; drafts survive a timeout; the
concern form works by keyboard alone; no page has a serious accessibility violation."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from referrals.models import Attachment, AuditAction, AuditEvent, Concern, Referral
from referrals.visibility import referral_list_for_user
from safeguarding.middleware import SESSION_ACTIVITY_KEY
from tests import factories
from tests.conftest import World, axe_violations, sign_in, sign_out, stored_files

pytestmark = pytest.mark.browser

# A real 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2b1d1e70000000049454e44ae426082"
)


def accessible(page: Any) -> None:
    assert axe_violations(page) == [], page.url


@pytest.fixture
def amy(world: World) -> Any:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Amy", last_name="Example"
    )


def test_a_concern_becomes_a_referral_in_the_front_door_queue_and_outsiders_see_nothing(
    page: Any,
    world: World,
    teacher: Any,
    dsl: Any,
    other_school_dsl: Any,
    southvale_dsl: Any,
    social_worker: Any,
    amy: Any,
    media_root: Path,
) -> None:
    # The teacher finds the child and records the concern.
    sign_in(page, teacher)
    accessible(page)
    page.get_by_role("button", name="Record a concern").click()
    assert page.get_by_text("call 999 now").is_visible()
    page.get_by_label("First name").fill("Amy")
    page.get_by_label("Last name").fill("Example")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2015")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("heading", name="Is it one of these children?").is_visible()
    accessible(page)
    page.get_by_role("button", name="Record a concern about Amy Example").click()
    page.wait_for_url(re.compile(rf"/children/{amy.pk}/concerns/new/$"))
    accessible(page)

    # Submitting without what happened: a clear message, nothing stored.
    page.get_by_role("button", name="Submit concern").click()
    assert page.get_by_role("link", name="Enter what happened").is_visible()
    accessible(page)
    assert not Concern.objects.exists()

    page.get_by_label("Today", exact=True).check()
    page.get_by_role("group", name="Did this happen today?").get_by_label("Yes").check()
    page.get_by_label("What happened?").fill("A round bruise on her left arm at PE.")
    page.get_by_label("The child's own words (optional)").fill("Dad grabbed me.")
    page.get_by_label("Physical abuse").check()
    page.locator('svg [data-region="front-left-upper-arm"]').click()
    page.get_by_label("Describe the injury on the Left upper arm (front)").fill("Bruise, 3 cm")
    page.get_by_label("Attach a file (optional)").set_input_files(
        {"name": "arm.png", "mimeType": "image/png", "buffer": PNG}
    )
    page.get_by_role("button", name="Submit concern").click()
    page.wait_for_url(re.compile(r"/concerns/\d+/$"))
    accessible(page)
    concern = Concern.objects.get()
    assert concern.injuries == [{"region": "front-left-upper-arm", "note": "Bruise, 3 cm"}]
    attachment = Attachment.objects.get(concern=concern)
    assert attachment.content_type == "image/png"
    assert stored_files(media_root) == [Path(attachment.file.path)]
    assert page.get_by_role("link", name="arm.png").is_visible()

    # A disguised file is refused on the upload page, and nothing is stored.
    page.get_by_role("link", name="Add a file").click()
    accessible(page)
    page.get_by_label("Upload a file").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00" + b"\0" * 64}
    )
    page.get_by_role("button", name="Upload file").click()
    assert page.get_by_text("Its content was checked, not its name").first.is_visible()
    accessible(page)
    assert Attachment.objects.count() == 1
    assert len(stored_files(media_root)) == 1
    sign_out(page)

    # The lead reviews it and refers.
    sign_in(page, dsl)
    page.get_by_role("link", name="Concerns to review").click()
    accessible(page)
    page.get_by_role("link", name=f"#{concern.pk}").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="arm.png").click()
    assert download.value.suggested_filename == "arm.png"
    page.get_by_role("button", name="Review this concern").click()
    accessible(page)
    page.get_by_label("Refer to children's social care").check()
    page.get_by_label("Why?").fill("Injury with a disclosure: threshold for a referral.")
    page.get_by_role("button", name="Save review").click()
    page.wait_for_url(re.compile(rf"/children/{amy.pk}/referrals/new/"))
    accessible(page)
    assert page.get_by_label(re.compile(rf"Concern #{concern.pk}")).is_checked()
    assert page.get_by_label("Today", exact=True).is_checked()  # the concern's urgency
    page.get_by_label("What worries you?").fill("Bruising and a disclosure about dad.")
    page.get_by_label("What do you want to happen?").fill("A strategy discussion.")
    page.get_by_label("Consent was not sought").check()
    page.get_by_label("If consent was refused or not sought, why?").fill(
        "Asking could put her at greater risk."
    )
    page.get_by_label("No", exact=True).check()
    page.get_by_label("Your phone number").fill("01632 960999")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/referrals/check/$"))
    accessible(page)
    assert not Referral.objects.exists()
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_url(re.compile(r"/referrals/\d+/$"))
    accessible(page)
    referral = Referral.objects.get()
    page.get_by_role("link", name="The child's chronology").click()
    accessible(page)
    page.get_by_role("link", name="Referrals", exact=True).click()
    accessible(page)
    page.get_by_role("link", name=f"Withdraw referral #{referral.pk}").click()
    accessible(page)
    sign_out(page)

    # It lands in Northshire's Front Door queue.
    assert (referral.status, referral.team) == ("submitted", world.front_door)
    assert list(referral.concerns.all()) == [concern]
    assert referral in referral_list_for_user(user=social_worker)

    # Another school's lead and another authority's lead get 404 on every URL of it.
    urls = [
        f"/concerns/{concern.pk}/",
        f"/concerns/{concern.pk}/review/",
        f"/concerns/{concern.pk}/files/",
        f"/files/{attachment.pk}/",
        f"/children/{amy.pk}/",
        f"/children/{amy.pk}/concerns/new/",
        f"/children/{amy.pk}/referrals/new/",
        f"/children/{amy.pk}/referrals/check/",
        f"/referrals/{referral.pk}/",
        f"/referrals/{referral.pk}/withdraw/",
        f"/referrals/{referral.pk}/files/",
    ]
    for outsider in (other_school_dsl, southvale_dsl):
        sign_in(page, outsider)
        for url in urls:
            response = page.goto(url)
            assert response.status == 404, (outsider.email, url)
            assert page.get_by_text("Amy").count() == 0
        accessible(page)
        sign_out(page)
        assert not AuditEvent.objects.filter(actor=outsider, action=AuditAction.VIEW).exists()
        denied = AuditEvent.objects.filter(actor=outsider, action=AuditAction.DENIED).count()
        assert denied == len(urls)

    # Every view, write and download of the journey is in the audit trail.
    trail = set(AuditEvent.objects.values_list("actor__email", "action", "target_type"))
    for expected in [
        (teacher.email, "list", "referrals.child"),
        (teacher.email, "view", "referrals.child"),
        (teacher.email, "create", "referrals.concern"),
        (teacher.email, "create", "referrals.attachment"),
        (teacher.email, "view", "referrals.concern"),
        (dsl.email, "list", "referrals.concern"),
        (dsl.email, "view", "referrals.concern"),
        (dsl.email, "download", "referrals.attachment"),
        (dsl.email, "review", "referrals.concern"),
        (dsl.email, "create", "referrals.draft"),
        (dsl.email, "create", "referrals.referral"),
        (dsl.email, "submit", "referrals.referral"),
        (dsl.email, "view", "referrals.referral"),
        (dsl.email, "list", "referrals.referral"),
        (dsl.email, "view", "referrals.child"),
    ]:
        assert expected in trail, expected


def test_a_draft_typed_before_the_session_expired_is_offered_back(
    page: Any, world: World, teacher: Any
) -> None:
    sign_in(page, teacher)
    page.goto("/concerns/new/")
    page.get_by_label("First name").fill("Zed")
    page.get_by_label("Last name").fill("Newchild")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("heading", name="No matching child found").is_visible()
    page.get_by_role("button", name="Add a new child").click()
    accessible(page)
    assert page.get_by_label("Last name").input_value() == "Newchild"
    page.get_by_label("Day").fill("2")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2016")
    page.get_by_label("Male", exact=True).check()
    page.get_by_role("button", name="Add child and continue").click()
    page.wait_for_url(re.compile(r"/concerns/new/$"))
    form_url = page.url

    page.get_by_label("What happened?").fill("He said he was scared to go home.")
    page.get_by_label("The child's own words (optional)").focus()  # leaving the field saves
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved")

    # The session runs out while the teacher is away.
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[SESSION_ACTIVITY_KEY] = time.time() - 31 * 60
    session.save()
    page.reload()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    assert page.get_by_text(
        "You were signed out because you did nothing for 30 minutes"
    ).is_visible()
    accessible(page)

    sign_in(page, teacher, go=False)
    assert page.url == form_url
    assert page.get_by_text("We have restored the draft").is_visible()
    assert page.get_by_label("What happened?").input_value() == "He said he was scared to go home."
    page.goto("/")
    assert page.get_by_role("link", name="Continue the concern about Zed Newchild").is_visible()
    accessible(page)


def _tab_to(page: Any, predicate: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element matches; fail if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {predicate})(document.activeElement)"):
            return
    pytest.fail(f"Never reached by Tab: {predicate}")


def test_the_concern_form_works_by_keyboard_alone(
    page: Any, world: World, teacher: Any, amy: Any
) -> None:
    sign_in(page, teacher)
    page.goto(f"/children/{amy.pk}/concerns/new/")
    page.locator("body").focus()
    _tab_to(page, "el.name === 'urgency'")
    page.keyboard.press("ArrowDown")  # none is chosen for the person: the second is "Today"
    _tab_to(page, "el.name === 'observed_today'")
    page.keyboard.press("Space")  # "Yes": it happened today
    _tab_to(page, "el.id === 'id_location'")
    page.keyboard.type("School hall")
    _tab_to(page, "el.id === 'id_categories_0'")
    page.keyboard.press("Space")
    _tab_to(page, "el.id === 'id_what_happened'")
    page.keyboard.type("Came in with a burn on the hand.")
    _tab_to(page, "el.id === 'id_childs_words'")
    page.keyboard.type("It was the iron.")
    _tab_to(page, "el.id === 'id_injury_add_region'")
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # Head and face, Neck (front), Chest
    _tab_to(page, "el.hasAttribute('data-add-injury')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.name") == "injury_note"
    page.keyboard.type("Red mark")
    _tab_to(page, "el.name === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/concerns/\d+/$"))
    concern = Concern.objects.get()
    assert (concern.urgency, concern.location, concern.categories) == (
        "urgent",
        "School hall",
        ["neglect"],
    )
    assert concern.childs_words == "It was the iron."
    assert concern.injuries == [{"region": "front-chest", "note": "Red mark"}]
