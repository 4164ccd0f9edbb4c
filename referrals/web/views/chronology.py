"""A child's chronology as a document: on screen with filters, printed, as a PDF and a CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from agencies.capabilities import agencies_with_capability
from agencies.models import User
from referrals.audit import audit_record, audit_record_many
from referrals.children.chronology import (
    ChronologyEntry,
    ChronologyFilters,
    child_chronology_for_user,
    chronology_agencies,
    chronology_filter,
    chronology_watermark,
)
from referrals.children.joined_up import joined_up_context
from referrals.models import AuditAction, Child
from referrals.visibility import child_get_for_user, scope_for_user, user_may_read_access_log
from referrals.web.forms.children import ChronologyFilterForm
from safeguarding.http import AuthenticatedHttpRequest

CSV_COLUMNS = ("Entry", "Date and time", "What happened", "Agency", "Record", "Details")
# A spreadsheet runs a cell that starts with one of these as a formula: such text is quoted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ChronologyRead:
    """One read of a child's chronology, audited, narrowed by the filters asked for."""

    child: Child
    entries: list[ChronologyEntry]
    total: int
    form: ChronologyFilterForm
    filters: ChronologyFilters


def _chronology_read(request: AuthenticatedHttpRequest, pk: int) -> ChronologyRead:
    """The child (404 to outsiders) and their chronology, every record it lists audited."""
    user = request.user
    child = child_get_for_user(user=user, pk=pk)
    entries, concerns, referrals = child_chronology_for_user(user=user, child=child)
    if concerns:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=concerns)
    if referrals:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=referrals)
    form = ChronologyFilterForm(request.GET or None, agencies=chronology_agencies(entries))
    filters = form.filters()
    return ChronologyRead(child, chronology_filter(entries, filters), len(entries), form, filters)


def _may_act(user: User) -> dict[str, bool]:
    scope = scope_for_user(user)
    return {
        "may_read_access_log": user_may_read_access_log(user=user),
        "may_record": bool(agencies_with_capability(user=user, capability="referrals.add_concern")),
        "may_refer": bool(agencies_with_capability(user=user, capability="referrals.add_referral")),
        "authority_view": bool(scope.team_authority_ids or scope.authority_ids),
    }


@login_required
def child_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The child and everything the person may see about them, in time order."""
    user = request.user
    read = _chronology_read(request, pk)
    joined_up = joined_up_context(user=user, child=read.child)
    shown = [
        *joined_up["household"],
        *(n.child for n in joined_up["neighbours"]),
        *(m.child for m in joined_up["duplicates"]),
    ]
    if shown:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=shown)
    return render(
        request,
        "referrals/child_detail.html",
        {
            "child": read.child,
            "entries": read.entries,
            "total": read.total,
            "filter_form": read.form,
            "filtered": read.filters != ChronologyFilters(),
            "export_query": read.form.query(),
            "watermark": chronology_watermark(user=user, at=timezone.now()),
            **_may_act(user),
            **joined_up,
        },
    )


def chronology_pdf_bytes(html: str) -> bytes:
    """A PDF of our own HTML with its CSS inline: WeasyPrint fetches no URL at all."""
    # Imported here: WeasyPrint loads Pango when imported (seconds), which only this download
    # needs; every other page, worker and command starts without it.
    import weasyprint.urls

    refuse_every_url = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=refuse_every_url)
    pdf: bytes = document.write_pdf()
    return pdf


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _record(entry: ChronologyEntry) -> str:
    if entry.concern is not None:
        return f"Concern #{entry.concern.pk}"
    if entry.referral is not None:
        return f"Referral #{entry.referral.pk}"
    return ""


def _csv(read: ChronologyRead, watermark: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([watermark])
    writer.writerow(CSV_COLUMNS)
    for entry in read.entries:
        at = timezone.localtime(entry.at)
        row = (entry.ref, f"{at:%Y-%m-%d %H:%M}", entry.title, entry.agency)
        writer.writerow([_cell(text) for text in (*row, _record(entry), entry.text)])
    # With a byte order mark, spreadsheet programs read the file as UTF-8.
    return ("\ufeff" + out.getvalue()).encode()


def _pdf(request: AuthenticatedHttpRequest, read: ChronologyRead, watermark: str) -> bytes:
    html = render_to_string(
        "referrals/chronology_pdf.html",
        {
            "child": read.child,
            "entries": read.entries,
            "total": read.total,
            "filters": read.form.described(),
            "watermark": watermark,
        },
        request=request,
    )
    return chronology_pdf_bytes(html)


@login_required
def child_chronology_export(request: AuthenticatedHttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The chronology, as filtered, to keep: made, then audited with what left, then sent."""
    if fmt not in ("pdf", "csv"):
        raise Http404
    user = request.user
    read = _chronology_read(request, pk)
    now = timezone.now()
    if fmt == "pdf":
        body = _pdf(request, read, chronology_watermark(user=user, at=now))
        content_type = "application/pdf"
    else:
        body = _csv(read, chronology_watermark(user=user, at=now, verb="Exported"))
        content_type = "text/csv; charset=utf-8"
    audit_record(
        actor=user,
        action=AuditAction.DOWNLOAD,
        target=read.child,
        data={
            "format": fmt,
            "filters": read.filters.as_data(),
            "entries": len(read.entries),
            "entry_ids": [entry.ref for entry in read.entries],
        },
    )
    response = HttpResponse(body, content_type=content_type)
    # Ids only in the name: a download folder or a mail attachment never names the child.
    filename = f"chronology-child-{read.child.pk}-{timezone.localdate(now):%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
