"""'Who has seen this': a record's access log, for safeguarding leads and managers."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from agencies.selectors import agency_names_for_users
from referrals.models import AuditEvent
from referrals.visibility import (
    AccessLog,
    access_log_for_user,
    child_get_for_user,
    referral_get_for_user,
    user_may_read_access_log,
)
from safeguarding.http import AuthenticatedHttpRequest

# How the log names a record: "Referral #13", never "referrals.referral #13".
_RECORD_KINDS = {
    "referrals.referral": "Referral",
    "referrals.concern": "Concern",
    "referrals.child": "Child",
    "referrals.attachment": "File",
}


@dataclass(frozen=True)
class AccessLine:
    """One event of the log in words: who by name, their agency, what, which record."""

    when: datetime.datetime
    who: str
    agency: str
    what: str
    record: str


def record_label(target_type: str, target_id: str) -> str:
    kind = _RECORD_KINDS.get(target_type) or target_type.rsplit(".", 1)[-1].replace("_", " ")
    kind = kind[:1].upper() + kind[1:]
    return f"{kind} #{target_id}" if target_id else kind


def _record(event: AuditEvent, records: Mapping[str, Iterable[int]]) -> str:
    """The record the event is about; for a list, which of the log's records it named and how
    long the list was ("Referral #13, in a list of 100")."""
    if event.target_ids is None:
        return record_label(event.target_type, event.target_id)
    wanted = set(records.get(event.target_type, ()))
    named = [record_label(event.target_type, str(pk)) for pk in event.target_ids if pk in wanted]
    listed = len(event.target_ids)
    if len(named) == listed:
        return ", ".join(named)
    return ", ".join([*named, f"in a list of {listed}"])


def _who(event: AuditEvent) -> str:
    """The person by name (User.__str__: the email only when they have none); a job of the
    service's own ("system") as the service."""
    if event.actor is not None:
        return str(event.actor)
    if event.actor_label == "system":
        return "The service"
    return event.actor_label or "Unknown"


def access_lines(
    events: Iterable[AuditEvent], *, records: Mapping[str, Iterable[int]]
) -> list[AccessLine]:
    """People by name (email only when they have none); the agency the event was recorded for,
    or else the person's own (one query for all of them, only when some event has none); the
    log's records by kind (to say which of them a list named)."""
    events = list(events)
    agencies = agency_names_for_users(
        user_ids={e.actor_id for e in events if e.actor_id is not None and e.agency_id is None}
    )
    return [
        AccessLine(
            when=event.created_at,
            who=_who(event),
            agency=(event.agency.name if event.agency else agencies.get(event.actor_id or 0, "")),
            what=event.get_action_display(),
            record=_record(event, records),
        )
        for event in events
    ]


def _access_log_page(
    request: AuthenticatedHttpRequest, *, record: str, back: str, log: Callable[[], AccessLog]
) -> HttpResponse:
    """Who has seen a record: for leads and managers who may already see the record."""
    if not user_may_read_access_log(user=request.user):
        raise PermissionDenied
    found = log()
    lines = access_lines(found.events, records=found.records)
    return render(
        request,
        "referrals/access_log.html",
        {"events": found.events, "lines": lines, "record": record, "back": back},
    )


@login_required
def child_access_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    child = child_get_for_user(user=request.user, pk=pk)  # 404 to outsiders, audited
    return _access_log_page(
        request,
        record=f"Child #{child.pk}",
        back=reverse("child-detail", args=[child.pk]),
        log=lambda: access_log_for_user(user=request.user, child=child),
    )


@login_required
def referral_access_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = referral_get_for_user(user=request.user, pk=pk)  # 404 to outsiders, audited
    return _access_log_page(
        request,
        record=f"Referral #{referral.pk}",
        back=reverse("referral-detail", args=[referral.pk]),
        log=lambda: access_log_for_user(user=request.user, referral=referral),
    )
