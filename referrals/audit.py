"""The audit spine: every write and every read of a child, concern or referral lands here.

Called inside the same transaction as the write it records, so the two commit or fail
together. `data` must never hold personal data: ids, states and codes only.

Tamper evidence: each event stores the hash of the event before it and its own keyed hash
(HMAC-SHA256 with AUDIT_CHAIN_KEY) over its fields and that previous hash. Appending takes a
transaction-scoped advisory lock on PostgreSQL (SQLite's immediate transactions already
serialise writers), so concurrent writers still build one chain in id order: the next writer
waits until the previous one commits or rolls back, then reads the head it left. PostgreSQL
refuses UPDATE and DELETE on the table (a trigger, migration 0006); `manage.py audit_verify`
walks the chain and reports any break.

A list or API page is one event naming every record it returned (`target_ids`), not one per
record; `audit_readers_of` finds every event about a record either way ("who has seen this").
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from agencies.models import Agency, User
from referrals.models import AuditAction, AuditEvent
from safeguarding import request_context

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number, the same in every process: the key of the advisory lock.
AUDIT_CHAIN_LOCK_KEY = 7_240_031_007


def _target_type(target: models.Model | type[models.Model]) -> str:
    return target._meta.label_lower


def _chain_key() -> bytes:
    return str(settings.AUDIT_CHAIN_KEY).encode()


def audit_event_hash(event: AuditEvent) -> str:
    """The keyed hash of one event: its fields, in a canonical form, and the previous hash."""
    created_at = event.created_at.astimezone(datetime.UTC).isoformat()
    fields = [
        event.previous_hash,
        created_at,
        event.actor_id,
        event.actor_label,
        event.agency_id,
        str(event.action),
        event.target_type,
        event.target_id,
        event.request_id,
        event.ip_address,
        event.data,
    ]
    if event.target_ids is not None:
        # Only on list events, so the events written before the field existed still verify.
        fields.append(event.target_ids)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(_chain_key(), canonical.encode(), hashlib.sha256).hexdigest()


_EVENT_COLUMNS = (
    "created_at",
    "actor_id",
    "actor_label",
    "agency_id",
    "action",
    "target_type",
    "target_id",
    "target_ids",
    "request_id",
    "ip_address",
    "data",
    "previous_hash",
    "hash",
)
# A page of reads or a sweep's batch in one statement: column arrays, rows made by UNNEST.
# Django's bulk_create does the same on PostgreSQL but prepares every value in Python first,
# which costs several times the insert itself for a batch of thousands.
_EVENTS_INSERT = """
    INSERT INTO referrals_auditevent (
        created_at, actor_id, actor_label, agency_id, action, target_type, target_id,
        target_ids, request_id, ip_address, data, previous_hash, hash
    )
    SELECT * FROM unnest(
        %s::timestamptz[], %s::bigint[], %s::varchar[], %s::bigint[], %s::varchar[],
        %s::varchar[], %s::varchar[], %s::jsonb[], %s::varchar[], %s::inet[], %s::jsonb[],
        %s::varchar[], %s::varchar[]
    )
    RETURNING id
"""


# The lock is held until the transaction ends: the next writer reads the head we leave. Before
# taking it, the transaction's deferred foreign-key checks run (as Django's check_constraints
# does), so the next writer does not also wait for them at our commit. Then the head, read by
# its own statement, so after the lock is ours (each statement of a simple query takes its own
# snapshot). One round trip for the four; no parameters, so the simple query protocol.
_LOCK_AND_HEAD = (
    "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; "  # noqa: S608 - a constant
    f"SELECT pg_advisory_xact_lock({AUDIT_CHAIN_LOCK_KEY:d}); "
    "SELECT hash FROM referrals_auditevent ORDER BY id DESC LIMIT 1"
)


def _locked_head(connection: Any) -> str:
    """Take the chain's lock and read its head (PostgreSQL), in one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_AND_HEAD)
        last: list[Any] = []
        while True:  # the last statement's rows: the head, or none for an empty trail
            if cursor.description is not None:
                last = cursor.fetchall()
            if not cursor.nextset():
                break
    return str(last[0][0]) if last else GENESIS_HASH


def _append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Chain the events onto the head of the trail and insert them in one statement."""
    database = AuditEvent.objects.db
    ip_field = AuditEvent._meta.get_field("ip_address")
    # No savepoint: a failed append must fail the write it records, and it saves two trips.
    with transaction.atomic(using=database, savepoint=False):
        connection = connections[database]
        if connection.vendor == "postgresql":
            head = _locked_head(connection)
        else:
            head = (
                AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
                or GENESIS_HASH
            )
        for event in events:
            # The form the database gives back, so the hash recomputes from the stored row.
            event.ip_address = ip_field.get_prep_value(event.ip_address)
            event.previous_hash = head
            event.hash = head = audit_event_hash(event)
        if connection.vendor != "postgresql":
            return AuditEvent.objects.bulk_create(events)
        with connection.cursor() as cursor:
            cursor.execute(
                _EVENTS_INSERT,
                [[_column_value(event, name) for event in events] for name in _EVENT_COLUMNS],
            )
            ids = [row[0] for row in cursor.fetchall()]
        for event, pk in zip(events, ids, strict=True):
            event.pk = pk
            event._state.adding = False
            event._state.db = database
        return events


def _column_value(event: AuditEvent, name: str) -> Any:
    value = getattr(event, name)
    if name in ("data", "target_ids"):
        return None if value is None else json.dumps(value)
    return value


def api_actor_label(user: User) -> str:
    """How an agency's system is named on the events it causes (a person is named by the row)."""
    return f"api:{user.email}" if user.is_agency_system else ""


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target: models.Model,
    agency: Agency | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event for `actor` doing `action` to `target`."""
    return audit_record_each(
        actor=actor,
        action=action,
        records=[(target, data)],
        agency=agency,
        actor_label=actor_label,
    )[0]


def audit_record_many(
    *,
    actor: User | None,
    action: AuditAction,
    targets: Iterable[models.Model],
    agency: Agency | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> list[AuditEvent]:
    """Audit `action` on each of `targets` in a single INSERT. A list (AuditAction.LIST: a
    list or API page) is one event per kind of record naming all their ids; any other action
    is one event per target."""
    if action != AuditAction.LIST:
        return audit_record_each(
            actor=actor,
            action=action,
            records=((target, data) for target in targets),
            agency=agency,
            actor_label=actor_label,
        )
    kinds: dict[str, dict[int, None]] = {}  # kind -> ids, in the order shown, each once
    for target in targets:
        kinds.setdefault(_target_type(target), {})[int(target.pk)] = None
    return _record(
        [
            _event(actor, action, kind, "", list(ids), agency, actor_label, data)
            for kind, ids in kinds.items()
        ]
    )


def audit_record_each(
    *,
    actor: User | None,
    action: AuditAction,
    records: Iterable[tuple[models.Model, dict[str, Any] | None]],
    agency: Agency | None = None,
    actor_label: str = "",
) -> list[AuditEvent]:
    """Append one audit event per (target, data) pair in a single INSERT (a sweep's batch)."""
    return _record(
        [
            _event(actor, action, _target_type(t), str(t.pk), None, agency, actor_label, data)
            for t, data in records
        ]
    )


def _event(
    actor: User | None,
    action: AuditAction,
    target_type: str,
    target_id: str,
    target_ids: list[int] | None,
    agency: Agency | None,
    actor_label: str,
    data: dict[str, Any] | None,
) -> AuditEvent:
    context = request_context.current()
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent(
        actor=actor,
        actor_label=actor_label or ("" if actor else "system"),
        agency=agency,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_ids=target_ids,
        request_id=context.request_id,
        ip_address=context.ip_address,
        data=data or {},
    )


def _record(events: list[AuditEvent]) -> list[AuditEvent]:
    """Append now, or at the end of the enclosing `audit_rows_last()` block."""
    if not events:
        return []
    waiting = _waiting.get()
    if waiting is not None:
        waiting.extend(events)  # appended at the end of the audit_rows_last() block
        return events
    return _append(events)


# Events built inside an `audit_rows_last()` block, waiting for its end; None outside one.
_waiting: ContextVar[list[AuditEvent] | None] = ContextVar("audit_events_waiting", default=None)


@contextmanager
def audit_rows_last() -> Iterator[None]:
    """Append the block's audit events at its end, in order, in one statement.

    Use it inside the transaction (under `transaction.atomic`): appending holds the chain's
    lock until the transaction ends and every other writer waits for it, so a service of
    several steps takes it once, after everything else. Each event keeps the time it was
    recorded. If the block raises, nothing is appended (the transaction rolls back anyway).
    """
    if _waiting.get() is not None:
        yield  # an enclosing block appends them
        return
    waiting: list[AuditEvent] = []
    token = _waiting.set(waiting)
    try:
        yield
    finally:
        _waiting.reset(token)
    if waiting:
        _append(waiting)


def audit_denied(
    *,
    actor: User | None,
    target_type: type[models.Model] | str,
    target_id: Any,
    data: dict[str, Any] | None = None,
) -> None:
    """Record an access that was refused (a selector's 404 or a permission check's 403)."""
    context = request_context.current()
    _append(
        [
            AuditEvent(
                actor=actor if actor is not None and actor.is_authenticated else None,
                action=AuditAction.DENIED,
                target_type=(
                    target_type if isinstance(target_type, str) else _target_type(target_type)
                ),
                target_id=str(target_id)[:64],
                request_id=context.request_id,
                ip_address=context.ip_address,
                data=data or {},
            )
        ]
    )


# Who has seen this: every event about a record ----------------------------------------------
#
# An event names its record in `target_id`, or, for a list, among `target_ids`. Each path is
# an index lookup on PostgreSQL: the b-tree on (target_type, target_id, id), and the GIN index
# on target_ids (jsonb_path_ops, only rows whose target_ids IS NOT NULL: `@>` implies it, so the
# planner may use the partial index), whose rows are then checked for the kind. SQLite (the
# demo) has neither the operator nor the index: it reads each list event of the kind instead.

# The list events of a kind naming any of some ids (a JSON array), for SQLite.
_LISTED_SQLITE = """
    SELECT event.id FROM referrals_auditevent AS event, json_each(event.target_ids) AS listed
    WHERE event.target_type = %s AND listed.value IN (SELECT value FROM json_each(%s))
"""


def _listed(target_type: str, ids: list[int]) -> Q:
    if connections[AuditEvent.objects.db].vendor == "postgresql":
        contains = Q()
        for pk in ids:
            contains |= Q(target_ids__contains=[pk])
        return Q(target_type=target_type) & contains
    # A constant statement; the kind and the ids are parameters.
    return Q(pk__in=RawSQL(_LISTED_SQLITE, [target_type, json.dumps(ids)]))  # noqa: S611


def audit_events_about(*, records: Mapping[str, Iterable[int]]) -> QuerySet[AuditEvent]:
    """Every event about any of these records (ids by kind, e.g. "referrals.referral"),
    newest first: those naming one alone and the lists naming it among others."""
    about = Q()
    for target_type, given in records.items():
        ids = sorted(set(given))
        if ids:
            about |= Q(target_type=target_type, target_id__in=[str(pk) for pk in ids])
            about |= _listed(target_type, ids)
    if not about:
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(about).order_by("-id")


def audit_readers_of(*, target_type: str, target_id: int) -> QuerySet[AuditEvent]:
    """Who has seen this record: every event about it, newest first (read, listed, changed
    or refused), in one query of two index lookups on PostgreSQL."""
    return audit_events_about(records={target_type: [target_id]})


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str


def audit_chain_breaks(*, chunk_size: int = 2000) -> Iterator[ChainBreak | AuditEvent]:
    """Walk the trail in id order; yield each break found, and finally the head event."""
    expected_previous = GENESIS_HASH
    last: AuditEvent | None = None
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size):
        if event.previous_hash != expected_previous:
            yield ChainBreak(
                event.pk, "does not follow the event before it (an event removed or inserted)"
            )
        if not hmac.compare_digest(audit_event_hash(event), event.hash):
            yield ChainBreak(event.pk, "its contents were changed after it was written")
        expected_previous = event.hash
        last = event
    if last is not None:
        yield last


# The anchor: the chain's head, signed and written outside the database -----------------------
#
# Cutting events off the end of the trail leaves a valid chain. So every few minutes a beat
# task signs the head (its id and hash) and appends it to a sink the database's administrators
# cannot write: a file opened for appending (by default; make it append-only on disk), or
# syslog (shipped to a store with retention). `audit_verify` then checks that the anchored event
# is still there with the same hash: a missing one is a cut, a different one a rewrite.

ANCHOR_TASK = "referrals.audit.audit_anchor_task"


@dataclass(frozen=True)
class Anchor:
    event_id: int
    hash: str
    anchored_at: str
    signature: str

    @staticmethod
    def sign(event_id: int, event_hash: str, anchored_at: str) -> str:
        message = f"anchor|{event_id}|{event_hash}|{anchored_at}".encode()
        return hmac.new(_chain_key(), message, hashlib.sha256).hexdigest()

    def is_genuine(self) -> bool:
        expected = self.sign(self.event_id, self.hash, self.anchored_at)
        return hmac.compare_digest(expected, self.signature)

    def line(self) -> str:
        return json.dumps(
            {
                "event_id": self.event_id,
                "hash": self.hash,
                "anchored_at": self.anchored_at,
                "signature": self.signature,
            },
            sort_keys=True,
        )

    @classmethod
    def parse(cls, line: str) -> Anchor:
        data = json.loads(line)
        return cls(
            event_id=int(data["event_id"]),
            hash=str(data["hash"]),
            anchored_at=str(data["anchored_at"]),
            signature=str(data["signature"]),
        )


def audit_anchor_write() -> Anchor | None:
    """Sign the chain's head and append it to the configured sink; None for an empty trail."""
    head = AuditEvent.objects.order_by("-id").only("id", "hash").first()
    if head is None:
        return None
    anchored_at = datetime.datetime.now(datetime.UTC).isoformat()
    anchor = Anchor(
        event_id=head.pk,
        hash=head.hash,
        anchored_at=anchored_at,
        signature=Anchor.sign(head.pk, head.hash, anchored_at),
    )
    if settings.AUDIT_ANCHOR_SINK == "syslog":
        syslog = logging.getLogger("safeguarding.audit_anchor")
        syslog.info(anchor.line())
    else:
        path = Path(settings.AUDIT_ANCHOR_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: each line is added at the end whatever else writes; nothing is rewritten.
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a") as sink:
            sink.write(anchor.line() + "\n")
    return anchor


def audit_anchor_latest(path: Path | None = None) -> Anchor | None:
    """The last anchor in an anchor file (by default the configured one)."""
    path = path or Path(settings.AUDIT_ANCHOR_FILE)
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return Anchor.parse(lines[-1]) if lines else None


def audit_anchor_problem(anchor: Anchor) -> str | None:
    """What is wrong with the trail as this anchor saw it, or None when it still holds."""
    if not anchor.is_genuine():
        return "the anchor's signature does not match: it was not written by this service"
    anchored = AuditEvent.objects.filter(pk=anchor.event_id).only("hash").first()
    if anchored is None:
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        return (
            f"event {anchor.event_id}, anchored at {anchor.anchored_at}, is gone: the trail "
            f"was cut (it now ends at event {last})"
        )
    if not hmac.compare_digest(anchored.hash, anchor.hash):
        return f"event {anchor.event_id} is not the event anchored at {anchor.anchored_at}"
    return None


@shared_task(name=ANCHOR_TASK, ignore_result=True)
def audit_anchor_task() -> int:
    """Anchor the chain's head outside the database (triggered by beat)."""
    anchor = audit_anchor_write()
    return anchor.event_id if anchor else 0
