"""The person's own drafts: each to continue or delete (the home page's Drafts card opens it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from referrals.audit import audit_record_many
from referrals.models import AuditAction
from referrals.visibility import draft_list_for_user
from referrals.web.views.lists import list_page
from safeguarding.http import AuthenticatedHttpRequest


@login_required
def draft_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The drafts the person started and has not sent, the last saved first."""
    user = request.user
    pages = list_page(request, draft_list_for_user(user=user), query={})
    # A draft names its child: listing them is a read of the children, as on the home page.
    children = {draft.child_id: draft.child for draft in pages.rows}
    if children:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=children.values())
    return render(request, "referrals/drafts.html", {"pages": pages})
