"""Issue 14, homes that lead to work: every count on a home page links to the list it counts,
already filtered, and that list is exactly as long as the count, for every role."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from referrals.audit import audit_readers_of
from referrals.casework.reading import outcome_mark_read
from referrals.casework.sharing import referral_share
from referrals.casework.triage import (
    referral_acknowledge,
    referral_decide,
    referral_provide_information,
    referral_request_information,
)
from referrals.models import (
    AuditAction,
    AuditEvent,
    Concern,
    Decision,
    Draft,
    Escalation,
    Notification,
    OutcomeRead,
    Referral,
)
from referrals.web.views import lists
from tests import factories
from tests.conftest import World, signed_in

PAST = datetime.timedelta(hours=3)


class _Marks(HTMLParser):
    """What the tests read off a page: the cards, the cards' links and the rows of a list."""

    def __init__(self) -> None:
        super().__init__()
        self.cards = 0
        self.links: list[tuple[str, int]] = []
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-card" in found:
            self.cards += 1
        if tag == "a" and "data-count" in found:
            self.links.append((found["href"] or "", int(found["data-count"] or "")))
        # Lists mark their rows with data-row; the triage queue's rows carry data-referral.
        if tag == "tr" and ("data-row" in found or "data-referral" in found):
            self.rows += 1


def _marks(html: bytes) -> _Marks:
    marks = _Marks()
    marks.feed(html.decode())
    return marks


def _every_card_opens_its_list(client: Client) -> dict[str, int]:
    """Follow every card of the home page; each list is as long as its card's count."""
    home = client.get("/")
    assert home.status_code == 200
    cards = {card.title: card.count for card in home.context["cards"]}
    marks = _marks(home.content)
    assert marks.cards == len(cards)
    # Every count is a link (there is something in every list here), to a filtered list.
    assert len(marks.links) == len(cards)
    for url, count in marks.links:
        assert "?" in url or url == "/drafts/", url
        listed = client.get(url)
        assert listed.status_code == 200, url
        assert _marks(listed.content).rows == count, url
    # Each count is its own: none is zero, none equals another (so none can stand for another).
    assert 0 not in cards.values()
    assert len(set(cards.values())) == len(cards), cards
    return cards


def _draft(user: Any, agency: Any, kind: str = Draft.Kind.CONCERN) -> Draft:
    child = factories.ChildFactory.create(created_by_agency=agency)
    return Draft.objects.create(
        owner=user, agency=agency, child=child, kind=kind, payload={"what_happened": ["x"]}
    )


def _made(factory: Any, world: World, agency: Any, referrer: Any, **extra: Any) -> Referral:
    """A referral `referrer` made for `agency`, in Northshire's Front Door queue."""
    return factory.create(
        referring_agency=agency,
        referrer=referrer,
        team=world.front_door,
        child__created_by_agency=agency,
        **extra,
    )


def _decided(world: World, agency: Any, referrer: Any, **extra: Any) -> Referral:
    referral = _made(factories.DecidedReferralFactory, world, agency, referrer, **extra)
    factories.DecisionFactory.create(referral=referral)
    return referral


# Per role ------------------------------------------------------------------------------------


def test_a_teachers_counts_open_lists_as_long(client: Client, world: World, teacher: Any) -> None:
    for _ in range(3):
        factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    factories.ConcernFactory.create(agency=world.riverside)  # a colleague's: not hers
    _draft(teacher, world.riverside)
    _draft(teacher, world.riverside)
    signed_in(client, teacher)
    assert _every_card_opens_its_list(client) == {"Concerns you recorded": 3, "Drafts": 2}


def _shared_with(world: World, agency: Any, social_worker: Any) -> Referral:
    """Another school's referral, shared by the front door with `agency`."""
    referral = _made(
        factories.AcknowledgedReferralFactory, world, world.hillview, factories.UserFactory()
    )
    referral_share(
        referral=referral,
        user=social_worker,
        agency=agency,
        reason="Strategy discussion.",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    return referral


def test_a_dsls_counts_open_lists_as_long(
    client: Client, world: World, dsl: Any, teacher: Any, social_worker: Any
) -> None:
    for _ in range(6):
        _shared_with(world, world.riverside, social_worker)
    factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    factories.ReviewedConcernFactory.create(agency=world.riverside, raised_by=teacher)
    for _ in range(2):
        _made(factories.InformationRequestedReferralFactory, world, world.riverside, dsl)
    for _ in range(2):
        _made(factories.SubmittedReferralFactory, world, world.riverside, teacher)
    _decided(world, world.riverside, dsl)
    _decided(world, world.riverside, teacher)
    closed = _made(factories.ClosedReferralFactory, world, world.riverside, dsl)
    factories.DecisionFactory.create(referral=closed)
    read = _decided(world, world.riverside, dsl)
    OutcomeRead.objects.create(user=dsl, referral=read, read_at=timezone.now())
    _decided(world, world.hillview, factories.UserFactory.create())  # another school's
    for _ in range(5):
        _draft(dsl, world.riverside)
    signed_in(client, dsl)
    assert _every_card_opens_its_list(client) == {
        "Concerns to review": 1,
        "Questions waiting": 2,
        "Outcomes to read": 3,
        "Your referrals awaiting an outcome": 4,
        "Drafts": 5,
        "Shared with your agency": 6,
    }


def test_a_social_workers_counts_open_lists_as_long(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    def received(factory: Any, owner: Any) -> Referral:
        return _made(factory, world, world.riverside, dsl, owner=owner)

    received(factories.SubmittedReferralFactory, None)
    received(factories.SubmittedReferralFactory, social_worker)
    for _ in range(3):
        received(factories.AcknowledgedReferralFactory, social_worker)
    for _ in range(2):
        received(factories.AcknowledgedReferralFactory, None)
    received(factories.DecidedReferralFactory, social_worker)  # decided: not in the queue
    factories.SubmittedReferralFactory.create(team=world.south_front_door)  # another authority
    signed_in(client, social_worker)
    assert _every_card_opens_its_list(client) == {
        "Waiting to be acknowledged": 2,
        "Your referrals": 4,
        "Unassigned in your team": 3,
    }


def _escalated(referral: Referral, to: Any, clock: str = "decide") -> None:
    """The sweep's record of an escalation of `referral`, told to `to` in their digest."""
    escalation = Escalation.objects.create(
        referral=referral, clock=clock, level=1, due_at=timezone.now() - PAST
    )
    digest = Notification.objects.create(
        recipient=to,
        kind="escalation",
        subject="Escalation",
        body="Escalated.",
        digest_key=f"sweep:{escalation.pk}",
        digest_count=1,
    )
    digest.escalations.add(escalation)


def test_a_team_managers_counts_open_lists_as_long(
    client: Client, world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    past, future = timezone.now() - PAST, timezone.now() + PAST

    def received(factory: Any, owner: Any, due: datetime.datetime, level: int = 0) -> Referral:
        return _made(
            factory,
            world,
            world.riverside,
            dsl,
            owner=owner,
            acknowledge_due_at=due,
            decision_due_at=due,
            escalation_level=level,
        )

    ack = factories.AcknowledgedReferralFactory
    received(factories.SubmittedReferralFactory, None, future)
    received(ack, team_manager, future)
    received(ack, team_manager, past)
    for _ in range(3):
        _escalated(received(ack, social_worker, past, level=1), team_manager)
    received(ack, None, future)
    received(ack, None, future)
    received(ack, None, past)
    # Escalated, but the notices went to somebody else.
    _escalated(received(ack, social_worker, past, level=1), social_worker)
    # Told when it was not acknowledged in time; acknowledged since: the notice is spent.
    _escalated(received(ack, social_worker, future), team_manager, clock="acknowledge")
    signed_in(client, team_manager)
    assert _every_card_opens_its_list(client) == {
        "Waiting to be acknowledged": 1,
        "Your referrals": 2,
        "Overdue now": 6,
        "Escalated to you": 3,
        "Unassigned": 4,
    }


def test_a_partners_counts_open_lists_as_long(
    client: Client, world: World, partner: Any, social_worker: Any, dsl: Any
) -> None:
    _shared_with(world, world.health, social_worker)
    for _ in range(2):
        _made(factories.InformationRequestedReferralFactory, world, world.health, partner)
    _made(factories.SubmittedReferralFactory, world, world.health, partner)
    for _ in range(4):
        factories.ConcernFactory.create(agency=world.health)
    for _ in range(5):
        _decided(world, world.health, partner)
    signed_in(client, partner)
    assert _every_card_opens_its_list(client) == {
        "Concerns to review": 4,
        "Questions waiting": 2,
        "Outcomes to read": 5,
        "Your referrals awaiting an outcome": 3,
        "Shared with your agency": 1,
    }


def test_a_card_with_nothing_to_open_is_not_a_link(client: Client, dsl: Any) -> None:
    signed_in(client, dsl)
    home = client.get("/")
    assert {card.title for card in home.context["cards"]} >= {"Concerns to review"}
    marks = _marks(home.content)
    assert marks.cards == len(home.context["cards"])
    assert marks.links == []
    assert '<span class="app-card__count">0</span> Concerns to review' in home.content.decode()


# The DSL's read and question states, through the real services ---------------------------


def _sent(world: World, dsl: Any) -> Referral:
    return factories.referral_sent(agency=world.riverside, referrer=dsl)


def _count(client: Client, title: str) -> int:
    cards = {card.title: card for card in client.get("/").context["cards"]}
    return cards[title].count


def _listed(client: Client, url: str, referral: Referral) -> bool:
    return f'href="/referrals/{referral.pk}/"' in client.get(url).content.decode()


def test_a_question_waits_until_the_dsl_answers_it(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _sent(world, dsl)
    signed_in(client, dsl)
    questions = "/referrals/mine/?waiting=question"
    assert _count(client, "Questions waiting") == 0
    referral = referral_acknowledge(referral=referral, user=social_worker)
    referral = referral_request_information(
        referral=referral, user=social_worker, message="Who lives at home?"
    )
    assert _count(client, "Questions waiting") == 1
    assert _listed(client, questions, referral)
    referral_provide_information(referral=referral, user=dsl, message="Mum and a baby.")
    assert _count(client, "Questions waiting") == 0
    assert not _listed(client, questions, referral)


def test_an_outcome_leaves_outcomes_to_read_once_the_dsl_opens_it(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = referral_acknowledge(referral=_sent(world, dsl), user=social_worker)
    referral_decide(
        referral=referral,
        user=social_worker,
        outcome=Decision.Outcome.EARLY_HELP,
        rationale="Below the threshold.",
        feedback="Early help will call.",
    )
    unread = "/referrals/mine/?outcome=unread"
    signed_in(client, social_worker)
    client.get(f"/referrals/{referral.pk}/")  # the team reading it marks nothing for anyone
    signed_in(client, dsl)
    assert _count(client, "Outcomes to read") == 1
    assert _listed(client, unread, referral)
    assert client.get(f"/referrals/{referral.pk}/").status_code == 200
    assert _count(client, "Outcomes to read") == 0
    assert not _listed(client, unread, referral)
    assert list(OutcomeRead.objects.values_list("user_id", "referral_id")) == [
        (dsl.pk, referral.pk)
    ]


def test_marking_an_outcome_read_is_idempotent_and_audited(
    world: World, dsl: Any, teacher: Any
) -> None:
    referral = _decided(world, world.riverside, dsl)
    first = outcome_mark_read(user=dsl, referral=referral)
    again = outcome_mark_read(user=dsl, referral=referral)
    assert first is not None
    assert again is not None
    assert first.pk == again.pk
    audited = AuditEvent.objects.filter(
        actor=dsl, action=AuditAction.UPDATE, target_type="referrals.referral"
    )
    assert [event.data for event in audited] == [{"outcome_read": True}]
    # Not on the referrer's side, or nothing decided: nothing to mark.
    assert outcome_mark_read(user=teacher, referral=referral) is None
    undecided = _made(factories.SubmittedReferralFactory, world, world.riverside, dsl)
    assert outcome_mark_read(user=dsl, referral=undecided) is None
    assert OutcomeRead.objects.count() == 1


# Actions a role cannot take are not offered -----------------------------------------------


def test_a_teacher_is_not_offered_make_a_referral(client: Client, teacher: Any) -> None:
    signed_in(client, teacher)
    for url in ("/", "/referrals/mine/"):
        page = client.get(url).content.decode()
        assert "Make a referral" not in page, url
        assert "/referrals/new/" not in page, url
    assert "Record a concern" in client.get("/concerns/").content.decode()


def test_a_dsl_is_offered_make_a_referral(client: Client, dsl: Any) -> None:
    signed_in(client, dsl)
    assert "Make a referral" in client.get("/referrals/mine/").content.decode()


# The lists themselves ------------------------------------------------------------------------


def test_the_referrals_page_says_its_limit_and_links_to_the_next_page(
    client: Client, world: World, dsl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 2)
    made = [_made(factories.SubmittedReferralFactory, world, world.riverside, dsl) for _ in "abc"]
    signed_in(client, dsl)
    first = client.get("/referrals/mine/?waiting=outcome")
    body = first.content.decode()
    assert _marks(first.content).rows == 2
    assert "Showing 1 to 2 of 3." in body
    # Keyset pages: the link on carries where the page ended, and keeps the list's filter.
    next_url = re.search(
        r'href="(/referrals/mine/\?waiting=outcome&amp;after=[^"]+)" rel="next"', body
    )
    assert next_url is not None
    second = client.get(next_url.group(1).replace("&amp;", "&"))
    assert _marks(second.content).rows == 1
    assert f'href="/referrals/{made[0].pk}/"' in second.content.decode()
    assert "Showing 3 to 3 of 3." in second.content.decode()
    assert 'href="/referrals/mine/?waiting=outcome" rel="first"' in second.content.decode()
    assert 'rel="next"' not in second.content.decode()


def test_the_drafts_page_lists_only_the_persons_drafts_and_audits_the_children(
    client: Client, world: World, teacher: Any, dsl: Any
) -> None:
    mine = _draft(teacher, world.riverside)
    theirs = _draft(dsl, world.riverside)
    signed_in(client, teacher)
    page = client.get("/drafts/")
    body = page.content.decode()
    assert _marks(page.content).rows == 1
    assert f"/children/{mine.child_id}/concerns/new/" in body
    assert f"/drafts/{mine.pk}/delete/" in body
    assert f"/drafts/{theirs.pk}/delete/" not in body
    assert (
        audit_readers_of(target_type="referrals.child", target_id=mine.child_id)
        .filter(actor=teacher, action=AuditAction.LIST)
        .exists()
    )


def test_the_concern_list_filters_as_the_cards_count(
    client: Client, world: World, dsl: Any, teacher: Any
) -> None:
    new = factories.ConcernFactory.create(agency=world.riverside, raised_by=teacher)
    own = factories.ReviewedConcernFactory.create(agency=world.riverside, raised_by=dsl)
    signed_in(client, dsl)
    to_review = client.get("/concerns/?status=new").content.decode()
    assert f"/concerns/{new.pk}/" in to_review
    assert f"/concerns/{own.pk}/" not in to_review
    recorded = client.get("/concerns/?mine=1").content.decode()
    assert f"/concerns/{own.pk}/" in recorded
    assert f"/concerns/{new.pk}/" not in recorded
    both = client.get("/concerns/").content.decode()
    assert f"/concerns/{new.pk}/" in both
    assert f"/concerns/{own.pk}/" in both
    assert Concern.objects.count() == 2


def test_the_queue_filters_referrals_escalated_to_me(
    client: Client, world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    mine = _made(factories.AcknowledgedReferralFactory, world, world.riverside, dsl)
    Referral.objects.filter(pk=mine.pk).update(escalation_level=1)
    _escalated(mine, team_manager)
    other = _made(factories.AcknowledgedReferralFactory, world, world.riverside, dsl)
    Referral.objects.filter(pk=other.pk).update(escalation_level=1)
    _escalated(other, social_worker)
    signed_in(client, team_manager)
    page = client.get("/queue/?escalated=me").content.decode()
    assert f'data-referral="{mine.pk}"' in page
    assert f'data-referral="{other.pk}"' not in page
    assert 'name="escalated" type="checkbox" value="me" checked' in page
