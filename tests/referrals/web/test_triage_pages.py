"""Issue 4's pages through the Django test client: the queue, the actions on a referral, what
partners see, the decision, transfer, share, reassign and the managers' dashboard."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.casework.queue import QUEUE_PAGE_SIZE
from referrals.casework.triage import referral_note_add
from referrals.models import (
    AuditAction,
    AuditEvent,
    Notification,
    PatternFlag,
    PatternRule,
    Referral,
    ReferralEvent,
    Share,
)
from tests import factories
from tests.conftest import World, signed_in

QUEUE = "/queue/"


def _received(world: World, dsl: Any, **extra: Any) -> Referral:
    """A referral from Riverside in the Front Door's queue."""
    extra.setdefault("child__created_by_agency", world.riverside)
    return factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door, **extra
    )


def _due(hours: float) -> dict[str, datetime.datetime]:
    due = timezone.now() + datetime.timedelta(hours=hours)
    return {"acknowledge_due_at": due, "decision_due_at": due}


def _queue_ids(response: Any) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-referral="(\d+)"', response.content.decode())]


# The queue ------------------------------------------------------------------------------------


def test_the_queue_puts_immediate_risk_first_then_the_earliest_deadline(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    later = _received(world, dsl, **_due(5))
    sooner = _received(world, dsl, **_due(2))
    immediate = _received(world, dsl, urgency="immediate", **_due(9))
    overdue = _received(world, dsl, **_due(-2))
    factories.SubmittedReferralFactory.create(**_due(1))  # another authority's team
    response = signed_in(client, social_worker).get(QUEUE)
    assert response.status_code == 200
    assert _queue_ids(response) == [immediate.pk, overdue.pk, sooner.pk, later.pk]
    body = response.content.decode()
    assert '(2 hours ago) <strong class="govuk-tag govuk-tag--red">Overdue</strong>' in body
    assert "(in 1 hour)" in body
    listed = AuditEvent.objects.filter(actor=social_worker, action=AuditAction.LIST)
    assert {pk for a in listed for pk in a.target_ids or ()} == {
        immediate.pk,
        overdue.pk,
        sooner.pk,
        later.pk,
    }


def test_the_queue_filters(
    client: Client, world: World, dsl: Any, social_worker: Any, team_manager: Any
) -> None:
    mine = _received(world, dsl, owner=social_worker, category="neglect", **_due(3))
    theirs = _received(world, dsl, owner=team_manager, urgency="urgent", **_due(4))
    unassigned = _received(world, dsl, category="physical", **_due(-1))
    asked = factories.InformationRequestedReferralFactory.create(
        referring_agency=world.riverside,
        team=world.front_door,
        owner=social_worker,
        child__created_by_agency=world.riverside,
        **_due(6),
    )
    done = factories.DecidedReferralFactory.create(team=world.front_door, **_due(-30))
    client = signed_in(client, social_worker)

    def ids(query: str) -> list[int]:
        return _queue_ids(client.get(f"{QUEUE}?{query}"))

    assert ids("") == [theirs.pk, unassigned.pk, mine.pk, asked.pk]
    assert ids("owner=mine") == [mine.pk, asked.pk]
    assert ids("owner=unassigned") == [unassigned.pk]
    assert ids("urgency=urgent") == [theirs.pk]
    assert ids("category=physical") == [unassigned.pk]
    assert ids("overdue=1") == [unassigned.pk]
    assert ids("status=information_requested") == [asked.pk]
    assert ids("status=decided") == [done.pk]
    assert ids("status=nonsense&urgency=") == ids("")


def test_the_queue_pages_by_keyset_without_repeating_or_missing_a_referral(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    same_deadline = _due(3)
    referrals = [_received(world, dsl, **same_deadline) for _ in range(QUEUE_PAGE_SIZE + 5)]
    referrals += [_received(world, dsl, urgency="immediate", **_due(8)) for _ in range(3)]
    client = signed_in(client, social_worker)
    first = client.get(QUEUE)
    seen = _queue_ids(first)
    assert len(seen) == QUEUE_PAGE_SIZE
    next_url = re.search(r'href="(/queue/\?after=[^"]+)" rel="next"', first.content.decode())
    assert next_url is not None
    second = client.get(next_url.group(1).replace("&amp;", "&"))
    seen += _queue_ids(second)
    assert 'rel="next"' not in second.content.decode()
    assert 'rel="first"' in second.content.decode()
    assert sorted(seen) == sorted(r.pk for r in referrals)
    assert seen[:3] == sorted(r.pk for r in referrals[QUEUE_PAGE_SIZE + 5 :])


def test_a_malformed_cursor_shows_the_first_page(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _received(world, dsl)
    response = signed_in(client, social_worker).get(f"{QUEUE}?after=1.x.3")
    assert _queue_ids(response) == [referral.pk]


def _queue_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE)
    assert response.status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_queries_with_10_and_with_500_referrals(
    client: Client, world: World, dsl: Any, social_worker: Any, team_manager: Any
) -> None:
    client = signed_in(client, social_worker)
    for index in range(10):
        _received(world, dsl, owner=team_manager if index % 2 else None, **_due(index))
    client.get(QUEUE)  # the session's first write is not the page's cost
    with_10 = _queue_queries(client)
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    for index in range(490):
        _received(world, dsl, child=child, owner=social_worker, **_due(index % 48))
    with_500 = _queue_queries(client)
    assert Referral.objects.filter(team=world.front_door).count() == 500
    assert with_10 == with_500


def test_only_the_teams_and_their_managers_have_a_queue(
    client: Client, dsl: Any, partner: Any
) -> None:
    for person in (dsl, partner):
        assert signed_in(Client(), person).get(QUEUE).status_code == 403


def test_a_background_refresh_does_not_keep_the_session_alive(
    client: Client, world: World, social_worker: Any
) -> None:
    from safeguarding.middleware import SESSION_ACTIVITY_KEY

    client = signed_in(client, social_worker)
    client.get(QUEUE)
    session = client.session
    session[SESSION_ACTIVITY_KEY] -= 60
    session.save()
    before = client.session[SESSION_ACTIVITY_KEY]
    response = client.get(QUEUE, headers={"X-Background-Refresh": "1"})
    assert response.status_code == 200
    assert client.session[SESSION_ACTIVITY_KEY] == before
    client.get(QUEUE)
    assert client.session[SESSION_ACTIVITY_KEY] > before


def _pattern_item(world: World, agencies: list[Any], when: datetime.datetime) -> Referral:
    """A pattern item in the Front Door's queue, with one concern from each agency."""
    rule = PatternRule.objects.create(
        local_authority=world.northshire, kind=PatternRule.Kind.CUMULATIVE
    )
    item = factories.SubmittedReferralFactory.create(
        kind=Referral.Kind.PATTERN,
        referring_agency=world.north_csc,
        child__created_by_agency=world.riverside,
        team=world.front_door,
        **_due(2),
    )
    concerns = [
        factories.ConcernFactory.create(agency=agency, child=item.child, observed_at=when)
        for agency in agencies
    ]
    item.concerns.add(*concerns)
    PatternFlag.objects.create(
        child=item.child,
        rule=rule,
        item=item,
        raised_at=when,
        summary=f"{len(concerns)} concerns from {len(agencies)} agencies within 90 days",
    )
    return item


def test_the_queue_shows_pattern_items_with_their_concerns_and_marks_repeat_referrals(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    when = datetime.datetime(2026, 7, 3, 23, 30, tzinfo=datetime.UTC)  # 4 Jul in London
    item = _pattern_item(world, [world.police, world.health], when)
    repeat = _received(world, dsl, **_due(3))
    PatternFlag.objects.create(
        child=repeat.child,
        rule=PatternRule.objects.create(
            local_authority=world.northshire, kind=PatternRule.Kind.REPEAT_AFTER_NFA
        ),
        item=repeat,
        raised_at=when,
        summary="A new referral soon after no further action",
    )
    plain = _received(world, dsl, **_due(4))
    body = signed_in(client, social_worker).get(QUEUE).content.decode()
    rows = dict(
        zip(
            (int(pk) for pk in re.findall(r'data-referral="(\d+)"', body)),
            body.split('data-referral="')[1:],
            strict=True,
        )
    )
    assert list(rows) == [item.pk, repeat.pk, plain.pk]
    assert ">Pattern</strong>" in rows[item.pk]
    assert "2 concerns from 2 agencies within 90 days" in rows[item.pk]
    for concern in item.concerns.select_related("agency"):
        assert f"Concern #{concern.pk}: {concern.agency.name}, 4 Jul</li>" in rows[item.pk]
    assert "Repeat referral" in rows[repeat.pk]
    assert world.riverside.name in rows[repeat.pk]
    assert "Repeat referral" not in rows[plain.pk]
    assert ">Pattern</strong>" not in rows[plain.pk] + rows[repeat.pk]


def test_a_page_with_pattern_items_costs_one_more_query_however_many(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    client = signed_in(client, social_worker)
    _received(world, dsl, **_due(1))
    client.get(QUEUE)  # the session's first write is not the page's cost
    plain = _queue_queries(client)
    _pattern_item(world, [world.police, world.health], timezone.now())
    one = _queue_queries(client)
    for _ in range(3):
        _pattern_item(world, [world.riverside, world.police, world.health], timezone.now())
    assert _queue_queries(client) == one == plain + 1


@pytest.mark.parametrize(
    "submitted",
    [
        datetime.datetime(2026, 7, 3, 23, 5, 9, 250000, tzinfo=datetime.UTC),  # BST, next day
        datetime.datetime(2026, 1, 9, 7, 0, tzinfo=datetime.UTC),  # GMT, on the hour
    ],
)
def test_the_queue_writes_times_as_the_date_filter_does(
    submitted: datetime.datetime, client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    due = timezone.now() + datetime.timedelta(hours=5)
    _received(world, dsl, submitted_at=submitted, acknowledge_due_at=due, decision_due_at=due)
    body = signed_in(client, social_worker).get(QUEUE).content.decode()
    received = timezone.localtime(submitted)
    assert (
        f'<time datetime="{date_filter(received, "c")}">{date_filter(received, "j M H:i")}</time>'
        in body
    )
    assert f'Acknowledge by <time datetime="{date_filter(timezone.localtime(due), "c")}">' in body


# Claim, acknowledge, ask, answer, note ----------------------------------------------------------


def test_claim_then_acknowledge_tells_the_referrer(
    client: Client, world: World, dsl: Any, social_worker: Any, team_manager: Any
) -> None:
    referral = _received(world, dsl)
    client = signed_in(client, social_worker)
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Claim" in page
    assert "Acknowledge" in page
    response = client.post(f"/referrals/{referral.pk}/claim/", follow=True)
    assert f"You own referral #{referral.pk} now." in response.content.decode()
    # A colleague who clicks a moment later is told plainly, and nothing changes.
    late = signed_in(Client(), team_manager).post(
        f"/referrals/{referral.pk}/acknowledge/", follow=True
    )
    assert "Another social worker has already claimed this referral." in late.content.decode()
    client.post(f"/referrals/{referral.pk}/acknowledge/")
    referral.refresh_from_db()
    assert (referral.status, referral.owner) == ("acknowledged", social_worker)
    told = Notification.objects.filter(recipient=dsl, referral=referral)
    assert {(n.in_app, n.email_status) for n in told} == {(True, "pending")}
    assert told.filter(subject="Your referral has been received").exists()


def test_the_question_and_answer_thread(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _received(world, dsl, status="acknowledged", owner=social_worker)
    worker = signed_in(client, social_worker)
    empty = worker.post(f"/referrals/{referral.pk}/information-request/", {"request-message": ""})
    assert empty.status_code == 400
    assert 'href="#id_request-message"' in empty.content.decode()
    worker.post(
        f"/referrals/{referral.pk}/information-request/",
        {"request-message": "Who lives at home?"},
    )
    lead = signed_in(Client(), dsl)
    page = lead.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Who lives at home?" in page
    assert "Send your answer" in page
    assert Notification.objects.filter(recipient=dsl, email_status="pending").exists()
    # The front door may not answer its own question.
    assert (
        worker.post(f"/referrals/{referral.pk}/reply/", {"reply-message": "x"}).status_code == 403
    )
    lead.post(f"/referrals/{referral.pk}/reply/", {"reply-message": "Mum, her partner, a baby."})
    referral.refresh_from_db()
    assert referral.status == Referral.Status.INFORMATION_RECEIVED
    assert "Mum, her partner, a baby." in worker.get(f"/referrals/{referral.pk}/").content.decode()


def test_internal_notes_are_for_the_team_only(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _received(world, dsl)
    worker = signed_in(client, social_worker)
    worker.post(f"/referrals/{referral.pk}/notes/", {"note-text": "Sibling open to CIN."})
    assert "Sibling open to CIN." in worker.get(f"/referrals/{referral.pk}/").content.decode()
    lead = signed_in(Client(), dsl)
    assert "Sibling open to CIN." not in lead.get(f"/referrals/{referral.pk}/").content.decode()
    assert lead.post(f"/referrals/{referral.pk}/notes/", {"note-text": "x"}).status_code == 403


# Decide ---------------------------------------------------------------------------------------


def test_deciding_needs_an_outcome_rationale_and_feedback_and_then_tells_the_referrer(
    client: Client, world: World, dsl: Any, social_worker: Any
) -> None:
    referral = _received(world, dsl, status="acknowledged", owner=social_worker)
    worker = signed_in(client, social_worker)
    url = f"/referrals/{referral.pk}/decide/"
    assert worker.get(url).status_code == 200
    empty = worker.post(url, {})
    assert empty.status_code == 400
    for message in (
        "Select the response",
        "Enter the reasons for the decision",
        "Enter the feedback for the referrer",
    ):
        assert message in empty.content.decode()
    assert Referral.objects.get(pk=referral.pk).status == "acknowledged"
    response = worker.post(
        url,
        {
            "outcome": "early_help",
            "rationale": "Below threshold; family will engage.",
            "feedback": "Early help will contact the family this week.",
            "category": "neglect",
            "factors": ["domestic_abuse"],
        },
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "decided"
    assert referral.decided_at is not None
    assert referral.next_escalation_at is None
    assert referral.decision.outcome == "early_help"
    assert referral.factors == ["domestic_abuse"]
    assert referral.events.filter(kind="feedback").exists()
    assert Notification.objects.filter(
        recipient=dsl, subject="The outcome of your referral", email_status="pending"
    ).exists()
    lead_page = signed_in(Client(), dsl).get(f"/referrals/{referral.pk}/").content.decode()
    assert "Early help will contact the family this week." in lead_page
    assert "Below threshold" not in lead_page
    # Deciding again is refused with a message, not a crash.
    assert worker.get(url).status_code == 302


def test_a_referrer_may_not_open_the_decide_page(
    client: Client, world: World, dsl: Any, social_worker: Any, outsider: Any
) -> None:
    referral = _received(world, dsl, status="acknowledged")
    assert signed_in(client, dsl).get(f"/referrals/{referral.pk}/decide/").status_code == 403
    assert signed_in(Client(), outsider).get(f"/referrals/{referral.pk}/decide/").status_code == 404


# Transfer, share, reassign ---------------------------------------------------------------------


def test_transfer_sends_a_successor_to_the_other_authority_and_keeps_the_original(
    client: Client, world: World, dsl: Any, social_worker: Any, outsider: Any
) -> None:
    referral = _received(world, dsl)
    worker = signed_in(client, social_worker)
    url = f"/referrals/{referral.pk}/transfer/"
    assert worker.post(url, {"to_authority": "", "reason": ""}).status_code == 400
    worker.post(url, {"to_authority": world.southvale.pk, "reason": "The family moved."})
    referral.refresh_from_db()
    successor = Referral.objects.get(transferred_from=referral)
    assert referral.status == "transferred"
    assert (successor.team, successor.status) == (world.south_front_door, "submitted")
    assert worker.get(f"/referrals/{referral.pk}/").status_code == 200
    assert worker.get(f"/referrals/{successor.pk}/").status_code == 404
    assert signed_in(Client(), outsider).get(f"/referrals/{successor.pk}/").status_code == 200


def test_a_share_is_granted_with_a_reason_and_an_end_date_and_can_be_stopped(
    client: Client, world: World, dsl: Any, team_manager: Any, partner: Any
) -> None:
    referral = _received(world, dsl, status="acknowledged")
    referral_note_add(referral=referral, user=team_manager, text="TEAM-ONLY")
    manager = signed_in(client, team_manager)
    url = f"/referrals/{referral.pk}/share/"
    assert manager.get(url).status_code == 200
    ends = timezone.localdate() + datetime.timedelta(days=10)
    manager.post(
        url,
        {
            "agency": world.health.pk,
            "reason": "Strategy discussion with health.",
            "ends_day": ends.day,
            "ends_month": ends.month,
            "ends_year": ends.year,
        },
    )
    share = Share.objects.get(referral=referral)
    assert timezone.localtime(share.expires_at).date() == ends + datetime.timedelta(days=1)
    nurse = signed_in(Client(), partner)
    page = nurse.get(f"/referrals/{referral.pk}/")
    assert page.status_code == 200
    assert "TEAM-ONLY" not in page.content.decode()
    assert "Strategy discussion with health." not in page.content.decode()
    manager.post(f"/referrals/{referral.pk}/shares/{share.pk}/revoke/")
    assert nurse.get(f"/referrals/{referral.pk}/").status_code == 404


def test_a_share_must_end_in_the_future(
    client: Client, world: World, dsl: Any, team_manager: Any
) -> None:
    referral = _received(world, dsl)
    past = timezone.localdate() - datetime.timedelta(days=1)
    response = signed_in(client, team_manager).post(
        f"/referrals/{referral.pk}/share/",
        {
            "agency": world.health.pk,
            "reason": "Strategy discussion.",
            "ends_day": past.day,
            "ends_month": past.month,
            "ends_year": past.year,
        },
    )
    assert response.status_code == 400
    assert not Share.objects.exists()


def test_a_manager_reassigns_from_the_referral_page(
    client: Client, world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    referral = _received(world, dsl, owner=team_manager)
    manager = signed_in(client, team_manager)
    url = f"/referrals/{referral.pk}/reassign/"
    assert str(social_worker) in manager.get(url).content.decode()
    manager.post(url, {"to_user": social_worker.pk})
    referral.refresh_from_db()
    assert referral.owner == social_worker
    assert signed_in(Client(), social_worker).get(url).status_code == 403


# Managers ----------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_figures_charts_and_workload(
    client: Client, world: World, dsl: Any, team_manager: Any, social_worker: Any
) -> None:
    _received(world, dsl, owner=social_worker, **_due(-1))
    _received(world, dsl, urgency="immediate", **_due(1))
    decided = factories.DecidedReferralFactory.create(team=world.front_door)
    factories.DecisionFactory.create(referral=decided, outcome="s17")
    response = signed_in(client, team_manager).get("/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Referrals received per day, last 14 days" in body
    assert "Outcomes this month" in body
    assert 'class="govuk-table app-bar-chart" id="outcomes-chart"' in body
    assert "Section 17 child in need assessment</th>" in body
    rows = re.findall(
        r'<th scope="row" class="govuk-table__header">([^<]+)</th>\s*'
        r'<td class="govuk-table__cell govuk-table__cell--numeric"[^>]*>(\d+)</td>\s*'
        r'<td class="govuk-table__cell govuk-table__cell--numeric"[^>]*>(\d+)</td>\s*'
        r'<td class="govuk-table__cell govuk-table__cell--numeric"[^>]*>(\d+)</td>',
        body,
    )
    workload = {name.strip(): (int(a), int(b), int(c)) for name, a, b, c in rows}
    assert workload[str(social_worker)] == (1, 1, 0)
    assert workload["Not assigned"] == (1, 0, 1)
    assert workload[str(team_manager)] == (0, 0, 0)
    assert signed_in(Client(), social_worker).get("/dashboard/").status_code == 403


def test_the_child_view_shows_the_authority_every_referral_about_the_child(
    client: Client, world: World, dsl: Any, police_officer: Any, social_worker: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    ours = _received(world, dsl, child=child)
    referral_note_add(referral=ours, user=social_worker, text="Our note")
    theirs = factories.SubmittedReferralFactory.create(
        child=child, referring_agency=world.police, referrer=police_officer, team=world.edt
    )
    factories.ReferralEventFactory.create(referral=theirs, kind="submitted", text="Police call")
    response = signed_in(client, social_worker).get(f"/children/{child.pk}/")
    body = response.content.decode()
    assert "Police call" in body
    assert "Our note" in body
    assert f'href="/referrals/{ours.pk}/"' in body
    assert f'href="/referrals/{theirs.pk}/"' not in body  # another team's: history, not page
    listed = AuditEvent.objects.filter(actor=social_worker, action="list")
    assert theirs.pk in {pk for event in listed for pk in event.target_ids or ()}
    assert ReferralEvent.objects.filter(referral=theirs).count() == 1


def test_a_manager_closes_a_decided_referral_and_it_leaves_the_queue(
    client: Client, world: World, dsl: Any, team_manager: Any
) -> None:
    referral = factories.DecidedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    signed_in(client, team_manager)
    assert referral.pk in _queue_ids(client.get(QUEUE + "?status=decided"))

    response = client.post(f"/referrals/{referral.pk}/close/", follow=True)

    assert f"Referral #{referral.pk} closed." in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED
    assert referral.closed_at is not None
    assert referral.events.filter(kind=ReferralEvent.Kind.CLOSED, actor=team_manager).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.CLOSE, target_id=str(referral.pk), actor=team_manager
    ).exists()
    assert referral.pk not in _queue_ids(client.get(QUEUE + "?status=decided"))
    # Closed is the end: the page offers nothing more, and a second close is refused.
    again = client.post(f"/referrals/{referral.pk}/close/", follow=True).content.decode()
    assert "Only a decided referral can be closed." in again


def test_an_open_referral_cannot_be_closed(
    client: Client, world: World, dsl: Any, team_manager: Any
) -> None:
    referral = _received(world, dsl)
    response = signed_in(client, team_manager).post(f"/referrals/{referral.pk}/close/", follow=True)
    assert "Only a decided referral can be closed." in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SUBMITTED
    assert not AuditEvent.objects.filter(action=AuditAction.CLOSE).exists()
