"""The audit spine: every write and every read of a child, concern or referral lands here.

Called inside the same transaction as the write it records, so the two commit or fail
together. `data` must never hold personal data: ids, states and codes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from agencies.models import Agency, User
from referrals.models import AuditAction, AuditEvent
from safeguarding import request_context


def _target_type(target: models.Model | type[models.Model]) -> str:
    return target._meta.label_lower


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
    return audit_record_many(
        actor=actor,
        action=action,
        targets=[target],
        agency=agency,
        actor_label=actor_label,
        data=data,
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
    """Append one audit event per target in a single INSERT (reads of a page of records)."""
    context = request_context.current()
    actor = actor if actor is not None and actor.is_authenticated else None
    events = [
        AuditEvent(
            actor=actor,
            actor_label=actor_label or ("" if actor else "system"),
            agency=agency,
            action=action,
            target_type=_target_type(target),
            target_id=str(target.pk),
            request_id=context.request_id,
            ip_address=context.ip_address,
            data=data or {},
        )
        for target in targets
    ]
    return AuditEvent.objects.bulk_create(events)


def audit_denied(*, actor: User | None, target_type: type[models.Model], target_id: Any) -> None:
    """Record an access that a selector refused (the person saw a 404)."""
    context = request_context.current()
    AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=AuditAction.DENIED,
        target_type=_target_type(target_type),
        target_id=str(target_id)[:64],
        request_id=context.request_id,
        ip_address=context.ip_address,
    )
