"""A person's notifications: the list, opening one (it is read), all read at once, email choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from referrals.casework.home import (
    NOTIFICATION_ORDERS,
    NotificationFilters,
    notification_list_filtered,
)
from referrals.models import URGENT_KINDS
from referrals.outbox.inbox import (
    email_preferences_for,
    email_preferences_set,
    notification_get_for_user,
    notification_list_for_user,
    notification_open,
    notification_path,
    notifications_mark_all_read,
)
from referrals.web.forms.lists import NotificationFilterForm
from referrals.web.forms.notifications import EmailPreferencesForm
from referrals.web.views.drafting import posted
from referrals.web.views.lists import list_filtering, list_page
from safeguarding.http import AuthenticatedHttpRequest


@login_required
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Newest first, the unread marked; each opens the record it is about. Searched by child's
    name or record number (posted, never in the URL) and filtered."""
    filtering, filters = list_filtering(
        request,
        NotificationFilterForm,
        lambda term: NotificationFilters.from_query(request.GET, search=term),
        orders=NOTIFICATION_ORDERS,
    )
    if filtering.redirect is not None:
        return filtering.redirect
    pages = list_page(
        request,
        notification_list_filtered(user=request.user, filters=filters),
        order=filters.order,
        query=filtering.query(filters.query()),
    )
    return render(
        request,
        "referrals/notifications.html",
        {
            "pages": pages,
            "rows": [(n, notification_path(n)) for n in pages.rows],
            "urgent_kinds": URGENT_KINDS,
            "any_unread": notification_list_for_user(user=request.user)
            .filter(read_at__isnull=True)
            .exists(),
            **filtering.context(filters),
        },
        status=400 if filtering.form.errors else 200,
    )


@login_required
def notification_open_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Opening a notification reads it and goes to its record (a link, so it works as one)."""
    notification = notification_get_for_user(user=request.user, pk=pk)
    return redirect(notification_open(user=request.user, notification=notification))


@login_required
@require_POST
def notifications_read_all_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect("notification-list")


@login_required
def notification_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Which updates the person is emailed about; urgent ones are always emailed."""
    current = email_preferences_for(user=request.user)
    form = EmailPreferencesForm(
        posted(request)[0], initial={"emailed": [k for k, on in current.items() if on]}
    )
    if request.method == "POST" and form.is_valid():
        email_preferences_set(user=request.user, emailed=form.cleaned_data["emailed"])
        messages.success(request, "Your email choices are saved.")
        return redirect("notification-settings")
    return render(
        request,
        "referrals/notification_settings.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
