"""Issue 14: one way to show a deadline on every page, and a referral page that says who the
child is and what happened, in the concerns' own words, at the top."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from referrals.casework.sharing import referral_share
from referrals.concerns.attachments import attachment_create
from referrals.models import AuditAction, AuditEvent, Concern, Referral
from referrals.web.templatetags.triage import child_age, clock_time, referral_deadline
from tests import factories
from tests.conftest import World, signed_in

LONDON = datetime.timezone(datetime.timedelta(0))  # GMT: London's winter time
# Saturday 29 November 2025, 2pm in London; the deadlines below are on Monday 1 December.
SATURDAY = datetime.datetime(2025, 11, 29, 14, 0, tzinfo=LONDON)


def _at(
    day: int, hour: int, minute: int = 0, second: int = 0, *, month: int = 12
) -> datetime.datetime:
    return datetime.datetime(2025, month, day, hour, minute, second, tzinfo=LONDON)


def _referral(status: str, acknowledge: datetime.datetime, decide: datetime.datetime) -> Referral:
    return Referral(status=status, acknowledge_due_at=acknowledge, decision_due_at=decide)


def _shown(referral: Referral, now: datetime.datetime) -> str:
    deadline = referral_deadline(referral, now)
    if not deadline.label:
        return deadline.stopped
    shown = f"{deadline.label} {deadline.when} ({deadline.relative})"
    return f"{shown} [{deadline.tag}, {deadline.colour}]" if deadline.tag else shown


# The format, at fixed moments ------------------------------------------------------------------


ACK = "Acknowledge by"
TODAY = "[Due today, yellow]"
LATE = "[Overdue, red]"


@pytest.mark.parametrize(
    ("due", "now", "shown"),
    [
        (_at(1, 9), SATURDAY, f"{ACK} 9am Mon 1 Dec (in 43 hours)"),
        (_at(1, 9, 30), SATURDAY, f"{ACK} 9:30am Mon 1 Dec (in 43 hours)"),
        (_at(1, 12), SATURDAY, f"{ACK} midday Mon 1 Dec (in 46 hours)"),
        (_at(1, 9), _at(1, 8, 17), f"{ACK} 9am Mon 1 Dec (in 43 minutes) {TODAY}"),
        (_at(1, 9), _at(1, 8, 59, 30), f"{ACK} 9am Mon 1 Dec (in less than a minute) {TODAY}"),
        (_at(1, 9), _at(1, 8), f"{ACK} 9am Mon 1 Dec (in 1 hour) {TODAY}"),
        (_at(1, 17), _at(1, 8), f"{ACK} 5pm Mon 1 Dec (in 9 hours) {TODAY}"),
        (_at(1, 9), _at(28, 9, month=11), f"{ACK} 9am Mon 1 Dec (in 3 days)"),
        (_at(1, 9), _at(29, 9, month=11), f"{ACK} 9am Mon 1 Dec (in 2 days)"),
        (_at(1, 9), _at(1, 11), f"{ACK} 9am Mon 1 Dec (2 hours ago) {LATE}"),
        (_at(1, 9), _at(1, 9, 1), f"{ACK} 9am Mon 1 Dec (1 minute ago) {LATE}"),
        (_at(1, 9), _at(4, 10), f"{ACK} 9am Mon 1 Dec (3 days ago) {LATE}"),
        # Late in the evening, a deadline first thing tomorrow is not due today.
        (_at(2, 0, 30), _at(1, 23), f"{ACK} 12:30am Tue 2 Dec (in 1 hour)"),
    ],
)
def test_a_deadline_is_the_local_time_and_how_long_until_or_since(
    due: datetime.datetime, now: datetime.datetime, shown: str
) -> None:
    assert _shown(_referral("submitted", due, due + datetime.timedelta(days=1)), now) == shown


def test_a_deadline_is_in_london_time_in_summer_too() -> None:
    due = datetime.datetime(2025, 7, 1, 8, 0, tzinfo=datetime.UTC)  # 9am BST
    now = datetime.datetime(2025, 7, 1, 6, 30, tzinfo=datetime.UTC)
    deadline = referral_deadline(_referral("acknowledged", due, due), now)
    assert (deadline.label, deadline.when, deadline.relative) == (
        "Decide by",
        "9am Tue 1 Jul",
        "in 1 hour",
    )
    assert deadline.iso == "2025-07-01T09:00:00+01:00"
    assert deadline.tag == "Due today"


def test_a_deadline_in_another_year_says_the_year() -> None:
    due = datetime.datetime(2026, 1, 2, 9, 0, tzinfo=LONDON)
    deadline = referral_deadline(_referral("submitted", due, due), _at(31, 9))
    assert deadline.when == "9am Fri 2 Jan 2026"


@pytest.mark.parametrize(
    ("hour", "minute", "shown"),
    [
        (0, 0, "midnight"),
        (0, 5, "12:05am"),
        (9, 0, "9am"),
        (12, 0, "midday"),
        (12, 30, "12:30pm"),
        (13, 0, "1pm"),
        (23, 59, "11:59pm"),
    ],
)
def test_clock_times_are_written_the_gov_uk_way(hour: int, minute: int, shown: str) -> None:
    assert clock_time(datetime.time(hour, minute)) == shown


def test_the_running_clock_switches_from_acknowledge_to_decide() -> None:
    referral = _referral("submitted", _at(1, 9), _at(2, 9))
    assert _shown(referral, SATURDAY) == "Acknowledge by 9am Mon 1 Dec (in 43 hours)"
    for status in ("acknowledged", "information_requested", "information_received"):
        referral.status = status
        assert _shown(referral, SATURDAY) == "Decide by 9am Tue 2 Dec (in 2 days)"


@pytest.mark.parametrize("status", ["draft", "decided", "closed", "withdrawn", "transferred"])
def test_no_deadline_shows_when_no_clock_runs(status: str) -> None:
    deadline = referral_deadline(_referral(status, _at(1, 9), _at(2, 9)), SATURDAY)
    assert (deadline.label, deadline.when, deadline.tag) == ("", "", "")
    assert deadline.stopped == f"No deadline: {Referral.Status(status).label.lower()}"


@pytest.mark.parametrize(
    ("born", "today", "shown"),
    [
        (datetime.date(2019, 3, 3), datetime.date(2026, 3, 2), "6 years old, born 3 Mar 2019"),
        (datetime.date(2019, 3, 3), datetime.date(2026, 3, 3), "7 years old, born 3 Mar 2019"),
        (datetime.date(2025, 3, 3), datetime.date(2026, 3, 3), "1 year old, born 3 Mar 2025"),
        (datetime.date(2025, 9, 20), datetime.date(2026, 3, 3), "5 months old, born 20 Sep 2025"),
        (datetime.date(2026, 2, 20), datetime.date(2026, 3, 3), "11 days old, born 20 Feb 2026"),
    ],
)
def test_a_childs_age_comes_with_the_date_of_birth(
    born: datetime.date, today: datetime.date, shown: str
) -> None:
    assert child_age(factories.ChildFactory.build(date_of_birth=born), today) == shown


def test_an_unborn_or_unknown_childs_age_says_so() -> None:
    today = datetime.date(2026, 3, 3)
    unborn = factories.ChildFactory.build(
        date_of_birth=None, expected_date_of_birth=datetime.date(2026, 5, 1)
    )
    assert child_age(unborn, today) == "Unborn, due 1 May 2026"
    assert child_age(factories.ChildFactory.build(date_of_birth=None), today) == "Not known"


# The same deadline on every page ---------------------------------------------------------------


def _received(world: World, dsl: Any, **extra: Any) -> Referral:
    extra.setdefault("child__created_by_agency", world.riverside)
    return factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door, **extra
    )


@time_machine.travel(SATURDAY, tick=False)
def test_every_page_shows_the_running_clock_the_same_way(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    waiting = _received(world, dsl, acknowledge_due_at=_at(1, 9), decision_due_at=_at(2, 9))
    acknowledged = _received(
        world, dsl, status="acknowledged", acknowledge_due_at=_at(1, 9), decision_due_at=_at(2, 9)
    )
    decided = factories.DecidedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    shown = "9am Mon 1 Dec</time> (in 43 hours)"
    iso = '<time datetime="2025-12-01T09:00:00+00:00">'
    worker = signed_in(client, social_worker)
    for url in ("/queue/", "/"):
        page = worker.get(url).content.decode()
        assert f"Acknowledge by {iso}{shown}" in page, url
        assert 'Decide by <time datetime="2025-12-02T09:00:00+00:00">9am Tue 2 Dec</time>' in page
        assert "Decision due" not in page
    queue = worker.get("/queue/?status=decided").content.decode()
    assert "No deadline: decided" in queue
    page = worker.get(f"/referrals/{waiting.pk}/").content.decode()
    assert f'Acknowledge by</dt><dd class="govuk-summary-list__value">{iso}{shown}' in page
    assert "Decide by" not in page
    page = worker.get(f"/referrals/{acknowledged.pk}/").content.decode()
    assert "Decide by</dt>" in page
    assert "Acknowledge by" not in page
    for closed in (decided, factories.ClosedReferralFactory.create(team=world.front_door)):
        page = worker.get(f"/referrals/{closed.pk}/").content.decode()
        assert "Acknowledge by" not in page
        assert "Decide by" not in page
        assert "<time" not in page
    mine = signed_in(Client(), dsl).get("/referrals/mine/").content.decode()
    assert f"Acknowledge by {iso}{shown}" in mine
    assert "No deadline: decided" in mine


@time_machine.travel(_at(1, 11), tick=False)
def test_overdue_and_due_today_are_tagged(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    _received(world, dsl, acknowledge_due_at=_at(1, 9))
    _received(world, dsl, acknowledge_due_at=_at(1, 17))
    page = signed_in(client, social_worker).get("/queue/").content.decode()
    assert '(2 hours ago) <strong class="govuk-tag govuk-tag--red">Overdue</strong>' in page
    assert '(in 6 hours) <strong class="govuk-tag govuk-tag--yellow">Due today</strong>' in page


# The referral page: who and what, at the top ---------------------------------------------------

INJURIES = [
    {"region": "front-left-forearm", "note": "Fingertip bruises"},
    {"region": "back-head", "note": ""},
]


@pytest.fixture
def amy(world: World) -> Any:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside,
        first_name="Amy",
        last_name="Example",
        date_of_birth=datetime.date(2019, 3, 3),
        address="4 Mill Lane\nRiverside",
        postcode="NS1 4ML",
        nhs_number="9434765919",
    )


def _concern(world: World, amy: Any, raised_by: Any, n: int, media_root: Path) -> Concern:
    concern = factories.ConcernFactory.create(
        agency=world.riverside,
        child=amy,
        raised_by=raised_by,
        what_happened=f"WHAT-HAPPENED-{n}",
        childs_words=f"CHILDS-WORDS-{n}",
        injuries=INJURIES,
        observed_at=timezone.now() - datetime.timedelta(days=10 - n),
    )
    attachment_create(
        user=raised_by,
        upload=SimpleUploadedFile(f"note-{n}.txt", b"what she said", "text/plain"),
        concern=concern,
    )
    return concern


def _sent(world: World, amy: Any, referrer: Any, concerns: list[Concern]) -> Referral:
    referral = factories.SubmittedReferralFactory.create(
        child=amy, referring_agency=world.riverside, referrer=referrer, team=world.front_door
    )
    referral.concerns.add(*concerns)
    return referral


def test_the_referral_page_says_who_the_child_is_and_what_happened(
    client: Client, world: World, amy: Any, dsl: Any, social_worker: Any, media_root: Path
) -> None:
    concerns = [_concern(world, amy, dsl, n, media_root) for n in range(2)]
    referral = _sent(world, amy, dsl, concerns)
    with time_machine.travel(datetime.datetime(2026, 3, 3, 12, 0, tzinfo=LONDON)):
        page = signed_in(client, social_worker).get(f"/referrals/{referral.pk}/").content.decode()
    top = page[: page.index('id="referral-summary"')]
    assert "7 years old, born 3 Mar 2019" in top
    assert "4 Mill Lane<br>Riverside<br>NS1 4ML" in top
    assert "943 476 5919" in top
    assert "Riverside Primary School" in top
    after = page[page.index('id="referral-summary"') :]
    for n, concern in enumerate(concerns):
        assert f"WHAT-HAPPENED-{n}" in after
        assert f"<q>CHILDS-WORDS-{n}</q>" in after
        file = concern.attachments.get()
        assert f'href="/files/{file.pk}/">note-{n}.txt</a>' in after
    assert after.count("Left forearm (front)") == 2
    assert after.count("Fingertip bruises") == 2
    assert after.count("Back of head") == 2
    assert after.index("WHAT-HAPPENED-0") < after.index("WHAT-HAPPENED-1")  # oldest first
    read = AuditEvent.objects.filter(
        actor=social_worker, action=AuditAction.VIEW, target_type="referrals.concern"
    )
    assert sorted(int(event.target_id) for event in read) == sorted(c.pk for c in concerns)


def test_the_page_shows_only_the_concerns_the_reader_may_see(
    client: Client,
    world: World,
    amy: Any,
    teacher: Any,
    dsl: Any,
    team_manager: Any,
    partner: Any,
    outsider: Any,
    media_root: Path,
) -> None:
    own = _concern(world, amy, teacher, 0, media_root)
    colleagues = _concern(world, amy, dsl, 1, media_root)
    referral = _sent(world, amy, teacher, [own, colleagues])
    page = signed_in(client, teacher).get(f"/referrals/{referral.pk}/").content.decode()
    assert "WHAT-HAPPENED-0" in page
    assert "WHAT-HAPPENED-1" not in page
    assert f"/files/{colleagues.attachments.get().pk}/" not in page
    read = AuditEvent.objects.filter(actor=teacher, target_type="referrals.concern")
    assert [int(event.target_id) for event in read] == [own.pk]

    referral_share(
        referral=referral,
        user=team_manager,
        agency=world.health,
        reason="Strategy discussion.",
        expires_at=timezone.now() + datetime.timedelta(days=10),
    )
    page = signed_in(Client(), partner).get(f"/referrals/{referral.pk}/").content.decode()
    assert "WHAT-HAPPENED" not in page
    assert "CHILDS-WORDS" not in page
    assert not AuditEvent.objects.filter(actor=partner, target_type="referrals.concern").exists()

    response = signed_in(Client(), outsider).get(f"/referrals/{referral.pk}/")
    assert response.status_code == 404
    assert "Amy" not in response.content.decode()
    assert "WHAT-HAPPENED" not in response.content.decode()


def test_the_school_is_the_referring_school_or_one_that_recorded_a_concern(
    client: Client,
    world: World,
    amy: Any,
    police_officer: Any,
    dsl: Any,
    social_worker: Any,
    media_root: Path,
) -> None:
    referral = factories.SubmittedReferralFactory.create(
        child=amy, referring_agency=world.police, referrer=police_officer, team=world.front_door
    )
    worker = signed_in(client, social_worker)
    page = worker.get(f"/referrals/{referral.pk}/").content.decode()
    assert 'School</dt><dd class="govuk-summary-list__value">Not known' in page
    referral.concerns.add(_concern(world, amy, dsl, 0, media_root))
    page = worker.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Riverside Primary School <span" in page
    assert "recorded a concern sent with it" in page


# What the social worker's referral page costs today: the session, the person's memberships
# and capabilities, the referral, its timeline and outcome, the joined-up reads and the audit
# rows, the reader's unread notices about it (read on opening) and the header's unread count.
# The concerns add two queries (the concerns, their files) and one audit insert.
PAGE_QUERIES = 46


def test_the_page_costs_the_same_queries_however_many_concerns(
    client: Client,
    world: World,
    amy: Any,
    dsl: Any,
    social_worker: Any,
    media_root: Path,
    django_assert_max_num_queries: Any,
) -> None:
    worker = signed_in(client, social_worker)
    one = _sent(world, amy, dsl, [_concern(world, amy, dsl, 0, media_root)])
    three = _sent(world, amy, dsl, [_concern(world, amy, dsl, n, media_root) for n in range(3)])
    worker.get(f"/referrals/{one.pk}/")  # the session's first write is not the page's cost
    counts = []
    for referral in (one, three):
        with django_assert_max_num_queries(PAGE_QUERIES) as captured:
            page = worker.get(f"/referrals/{referral.pk}/").content.decode()
        counts.append(len(captured.captured_queries))
        assert page.count("Fingertip bruises") == referral.concerns.count()
    assert counts[0] == counts[1]
