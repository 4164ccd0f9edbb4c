"""Read-only admin for operations: the audit trail, escalations and the notification outbox.

Children, concerns and referrals are deliberately not in the admin: every read of them goes
through a selector and is audited, which the admin would bypass. Platform operators read all
of these; an agency administrator reads only the audit events and notifications of their own
agencies (safeguarding/admin.py holds the policy).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from agencies.models import Membership
from referrals.models import AuditEvent, Escalation, Notification, PatternRule
from referrals.outbox.relay import notifications_retry


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    agency_admin_may = frozenset({"view"})

    list_display = ("created_at", "action", "target_type", "target_id", "actor", "actor_label")
    list_filter = ("action", "target_type")
    search_fields = ("target_id", "request_id", "actor__email")
    date_hierarchy = "created_at"

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], agency_ids: frozenset[int]
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(agency_id__in=agency_ids)


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("referral_id", "clock", "level", "due_at", "created_at", "told")
    list_filter = ("clock", "level")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Escalation]:
        # The referrer's side is told in notices of their own, the ladder's people in digests.
        return (
            super()
            .get_queryset(request)
            .annotate(
                told_count=Count("notifications", distinct=True) + Count("digests", distinct=True)
            )
        )

    @admin.display(description="notifications")
    def told(self, obj: Any) -> int:
        return int(obj.told_count)


class ResentFilter(admin.SimpleListFilter):
    """Emails sent again after an attempt nobody confirmed: the person may have two copies
    (with the same Message-ID, so their mail system may have dropped one)."""

    title = "sent again after an unconfirmed attempt"
    parameter_name = "resent"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(email_resent__gt=0)
        if self.value() == "no":
            return queryset.filter(email_resent=0)
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    agency_admin_may = frozenset({"view"})

    list_display = (
        "id",
        "recipient",
        "kind",
        "subject",
        "in_app",
        "email_status",
        "email_attempts",
        "email_resent",
        "email_last_error",
        "email_next_attempt_at",
        "email_claimed_at",
        "email_sent_at",
    )
    # Operations look for what could not be sent, and why (the error class, never a message),
    # and for what may have been sent twice.
    list_filter = ("email_status", ResentFilter, "in_app", "kind", "email_last_error")
    search_fields = ("recipient__email",)
    actions = ("send_again",)

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[Notification], agency_ids: frozenset[int]
    ) -> QuerySet[Notification]:
        members = Membership.objects.filter(agency_id__in=agency_ids).values("user_id")
        return queryset.filter(recipient_id__in=members)

    @admin.action(description="Send the selected failed notifications again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications_retry(notifications=queryset, user=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"{count} notification(s) back in the outbox.")


@admin.register(PatternRule)
class PatternRuleAdmin(admin.ModelAdmin[PatternRule]):
    """Each authority's rules for when concerns add up to a flag (setup data, not records)."""

    list_display = (
        "local_authority",
        "kind",
        "min_concerns",
        "min_agencies",
        "window_days",
        "is_active",
    )
    list_filter = ("local_authority", "kind", "is_active")
