"""Pages for making a referral (with a check-your-answers step) and the referrer's own list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from agencies.capabilities import agencies_with_capability
from agencies.models import Agency
from referrals.audit import audit_denied, audit_record, audit_record_many
from referrals.casework.home import REFERRAL_ORDERS, ReferralFilters, referral_list_filtered
from referrals.casework.referrals import referral_send, referral_withdraw
from referrals.concerns.drafts import DraftChanged, draft_save
from referrals.core import errors
from referrals.core.choices import URGENCY_OPTIONS, CinCategory, Factor
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, Concern, Draft, Referral
from referrals.visibility import (
    child_get_for_user,
    child_list_for_user,
    concern_list_for_user,
    draft_get_for_user,
    draft_version_for,
    referral_get_for_user,
    user_may_withdraw_referral,
)
from referrals.web.forms.lists import ReferralFilterForm
from referrals.web.forms.referrals import (
    ReferralForm,
    WithdrawForm,
    referral_initial_from_concerns,
)
from referrals.web.views.drafting import (
    acting_agency,
    autosave,
    draft_payload,
    initial_from,
    posted,
    posted_version,
    visible_child,
)
from referrals.web.views.lists import list_filtering, list_page
from safeguarding.http import AuthenticatedHttpRequest

KIND = Draft.Kind.REFERRAL
_MULTIPLE = ("concerns", "factors")
# The drafts whose check page this session showed, and at which version: {draft id: version}.
CHECKED_SESSION_KEY = "referral_checked"
# The form page, sent back from the check page, shows what stops the stored answers being sent.
SHOW_ERRORS = "errors"


def _concerns(request: AuthenticatedHttpRequest, child: Child, agency: Agency) -> list[Concern]:
    """The child's concerns the person may refer: their agency's, that they may see."""
    return list(
        concern_list_for_user(user=request.user)
        .filter(child=child, agency=agency)
        .order_by("-observed_at")
    )


def _choices(concerns: list[Concern]) -> list[tuple[str, str]]:
    return [
        (
            str(c.pk),
            f"Concern #{c.pk}, {c.observed_at:%d %b %Y}: {c.what_happened[:80]}"
            + ("…" if len(c.what_happened) > 80 else ""),
        )
        for c in concerns
    ]


def _initial(request: AuthenticatedHttpRequest, concerns: list[Concern]) -> dict[str, Any]:
    """A new referral: the person's contact details and, made from concerns (?concern=), what
    those concerns say. Only concerns the person may refer count."""
    user = request.user
    wanted = set(request.GET.getlist("concern"))
    chosen = [c for c in concerns if str(c.pk) in wanted]
    return {
        "referrer_name": str(user),
        "referrer_email": user.email,
        "referrer_phone": user.phone,
        "concerns": [str(c.pk) for c in chosen],
        "parents_aware": Referral.ParentsAware.UNKNOWN,
        **referral_initial_from_concerns(chosen),
    }


def _form_page(
    request: AuthenticatedHttpRequest,
    form: ReferralForm,
    child: Child,
    agency: Agency,
    *,
    version: int,
    restored: bool = False,
) -> HttpResponse:
    return render(
        request,
        "referrals/referral_form.html",
        {
            "form": form,
            "child": child,
            "agency": agency,
            "restored": restored,
            "draft_version": max(version, 0),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


def _referral_post(
    request: AuthenticatedHttpRequest, child: Child, agency: Agency, concerns: list[Concern]
) -> HttpResponse:
    """Store what was posted as the draft at its version, then keep it or go to the check."""
    form = ReferralForm(request.POST, concern_choices=_choices(concerns))
    version = posted_version(request.POST)
    try:
        draft = draft_save(
            user=request.user,
            agency=agency,
            child=child,
            kind=KIND,
            payload=draft_payload(request.POST),
            version=version,
        )
    except ApplicationError as exc:
        form.apply_error(exc)
        # Refused as older than the stored draft: the page carries the stored version, so
        # continuing again saves what is on it over the other window's answers.
        stored = exc.version if isinstance(exc, DraftChanged) else version
        return _form_page(request, form, child, agency, version=stored)
    if "save_draft" in request.POST:
        messages.success(
            request, "Your draft is saved. You can come back to it from your home page."
        )
        return redirect("referral-new", child_pk=child.pk)
    if form.is_valid():
        return redirect("referral-check", child_pk=child.pk)
    return _form_page(request, form, child, agency, version=draft.version)


@login_required
def referral_new(request: AuthenticatedHttpRequest, child_pk: int) -> HttpResponse:
    """The referral form; saved as a draft as it is typed, then checked before it is sent."""
    agency = acting_agency(request, KIND)
    if request.method == "POST" and "autosave" in request.POST:
        return autosave(request, agency=agency, child=visible_child(request, child_pk), kind=KIND)
    child = child_get_for_user(user=request.user, pk=child_pk)
    concerns = _concerns(request, child, agency)
    if request.method == "POST":
        return _referral_post(request, child, agency, concerns)
    choices = _choices(concerns)
    draft = draft_get_for_user(user=request.user, kind=KIND, child=child)
    if draft is None:
        form = ReferralForm(initial=_initial(request, concerns), concern_choices=choices)
    elif SHOW_ERRORS in request.GET:
        # Sent back from the check page: the stored answers cannot be sent, and this says why.
        form = ReferralForm(MultiValueDict(draft.payload), concern_choices=choices)
    else:
        form = ReferralForm(initial=initial_from(draft.payload, _MULTIPLE), concern_choices=choices)
    # From the stored draft even when closed (sent): this form's saves are numbered above it.
    version = draft_version_for(user=request.user, kind=KIND, child=child)
    restored = draft is not None and not form.is_bound
    return _form_page(request, form, child, agency, version=version, restored=restored)


def _answers(form: ReferralForm, concerns: list[Concern]) -> list[tuple[str, str, str]]:
    """Rows of the check-your-answers summary: question, answer, the field to change."""
    data = form.cleaned_data
    labels = dict(form.fields["consent"].choices)  # type: ignore[attr-defined]
    factors = ", ".join(Factor(f).label for f in data["factors"]) or "None"
    rows = [
        (
            "Concerns sent with it",
            "\n".join(label for value, label in _choices(concerns)) or "None",
            "concerns",
        ),
        ("How urgent", URGENCY_OPTIONS[data["urgency"]], "urgency"),
        (
            "Category of abuse",
            CinCategory(data["category"]).label if data["category"] else "Not sure",
            "category",
        ),
        ("Other factors", factors, "factors"),
        ("What worries you", data["reason"], "reason"),
        ("What you want to happen", data["desired_outcome"], "desired_outcome"),
        ("Consent", str(labels[data["consent"]]), "consent"),
    ]
    if data["consent"] != Referral.Consent.GIVEN:
        rows.append(("Why consent was not given", data["consent_reason"], "consent_reason"))
    rows += [
        (
            "Parents or carers know",
            Referral.ParentsAware(data["parents_aware"]).label,
            "parents_aware",
        ),
        ("Your name", data["referrer_name"], "referrer_name"),
        ("Your phone number", data["referrer_phone"], "referrer_phone"),
        ("Your email address", data["referrer_email"], "referrer_email"),
    ]
    return rows


def _sent(request: AuthenticatedHttpRequest, referral: Referral) -> HttpResponse:
    """Where it went and by when it must be acknowledged, on the referral's own page."""
    team = referral.team.name if referral.team else ""
    messages.success(
        request,
        f"Referral #{referral.pk} sent to {referral.local_authority.name}: {team}. "
        f"They must acknowledge it by {referral.acknowledge_due_at:%d %b %Y %H:%M}.",
    )
    return redirect("referral-detail", pk=referral.pk)


def _send(
    request: AuthenticatedHttpRequest,
    *,
    draft: Draft,
    form: ReferralForm,
    chosen: list[Concern],
    child: Child,
    agency: Agency,
) -> HttpResponse | str:
    """Send the draft only if it is the one whose check page this session showed and the
    person posted from: the stored, checked and posted versions are one. Otherwise back to the
    check page. The refusal of the send itself is returned as a message for the page."""
    checked = request.session.get(CHECKED_SESSION_KEY, {}).get(str(draft.pk))
    version = posted_version(request.POST)
    if checked is None or not draft.version == checked == version:
        unseen = checked is None
        message = errors.REFERRAL_NOT_CHECKED if unseen else errors.REFERRAL_CHANGED_SINCE_CHECKED
        return _check_again(request, child, message)
    try:
        # The draft is held at that version until the referral is made: a save made meanwhile
        # waits for it, one made since the page was read makes this refuse ("changed").
        referral = referral_send(
            user=request.user,
            agency=agency,
            child=child,
            concerns=chosen,
            draft=draft,
            version=version,
            **form.referral_fields(),
        )
    except ApplicationError as exc:
        if exc.code == "changed":
            return _check_again(request, child, exc.message)
        # The page is shown again, with the child: now the child is read (_checked_child).
        audit_record(actor=request.user, action=AuditAction.VIEW, target=child)
        return exc.message
    request.session[CHECKED_SESSION_KEY] = _checked_without(request, draft.pk)
    return _sent(request, referral)


def _checked_child(request: AuthenticatedHttpRequest, child_pk: int) -> Child:
    """The child, through the selector: 404 to outsiders, audited. The page reads the child;
    a send does not show the child (the referral it makes is what is audited, as a draft's
    autosave is), so its read is audited only if the page is shown again (_send)."""
    if request.method != "POST":
        return child_get_for_user(user=request.user, pk=child_pk)
    child = child_list_for_user(user=request.user).filter(pk=child_pk).first()
    if child is None:
        audit_denied(actor=request.user, target_type=Child, target_id=child_pk)
        raise Http404
    return child


def _check_again(request: AuthenticatedHttpRequest, child: Child, message: str) -> HttpResponse:
    """Back to the check page, saying why: never sent unseen, never sent changed."""
    messages.error(request, message)
    return redirect("referral-check", child_pk=child.pk)


def _checked_without(request: AuthenticatedHttpRequest, draft_pk: int) -> dict[str, int]:
    checked = dict(request.session.get(CHECKED_SESSION_KEY, {}))
    checked.pop(str(draft_pk), None)
    return checked


@login_required
def referral_check(request: AuthenticatedHttpRequest, child_pk: int) -> HttpResponse:
    """Check your answers, then send: routed to the receiving authority's queue."""
    agency = acting_agency(request, KIND)
    child = _checked_child(request, child_pk)
    draft = draft_get_for_user(user=request.user, kind=KIND, child=child)
    if draft is None:
        return redirect("referral-new", child_pk=child.pk)
    available = _concerns(request, child, agency)
    form = ReferralForm(MultiValueDict(draft.payload), concern_choices=_choices(available))
    if not form.is_valid():
        # Never a form at this address (it posts to the send): the form page says what to fix.
        return redirect(f"{reverse('referral-new', args=[child.pk])}?{SHOW_ERRORS}=1")
    chosen = [c for c in available if str(c.pk) in form.cleaned_data["concerns"]]
    error = ""
    if request.method == "POST":
        sent = _send(request, draft=draft, form=form, chosen=chosen, child=child, agency=agency)
        if isinstance(sent, HttpResponse):
            return sent
        error = sent
    # What this page shows is what may be sent: this draft at this version.
    request.session[CHECKED_SESSION_KEY] = {
        **_checked_without(request, draft.pk),
        str(draft.pk): draft.version,
    }
    return render(
        request,
        "referrals/referral_check.html",
        {
            "child": child,
            "agency": agency,
            "rows": _answers(form, chosen),
            "error": error,
            "draft_version": draft.version,
        },
        status=400 if error else 200,
    )


@login_required
def referral_mine(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The referrals this person (or, for leads, their agency) made, with what came of them;
    filtered as the home page's cards count them (or those shared with the agency), searched
    by child's name or number (posted, never in the URL)."""
    user = request.user
    filtering, filters = list_filtering(
        request,
        ReferralFilterForm,
        lambda term: ReferralFilters.from_query(request.GET, search=term),
        orders=REFERRAL_ORDERS,
    )
    if filtering.redirect is not None:
        return filtering.redirect
    pages = list_page(
        request,
        referral_list_filtered(user=user, filters=filters).select_related(
            "child", "local_authority", "team", "decision"
        ),
        order=filters.order,
        query=filtering.query(filters.query()),
    )
    if pages.rows:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=pages.rows)
    rows = [
        (referral, user_may_withdraw_referral(user=user, referral=referral))
        for referral in pages.rows
    ]
    # Offered only to those who may make one: anyone else would end at "You cannot do that".
    may_refer = agencies_with_capability(user=user, capability="referrals.add_referral")
    return render(
        request,
        "referrals/referral_mine.html",
        {"rows": rows, "pages": pages, "may_refer": bool(may_refer), **filtering.context(filters)},
        status=400 if filtering.form.errors else 200,
    )


@login_required
def referral_withdraw_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = referral_get_for_user(user=request.user, pk=pk)
    if not user_may_withdraw_referral(user=request.user, referral=referral):
        raise PermissionDenied
    form = WithdrawForm(posted(request)[0])
    if request.method == "POST" and form.is_valid():
        try:
            referral_withdraw(
                referral=referral, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            form.apply_error(exc, "reason")
        else:
            messages.success(request, f"Referral #{referral.pk} was withdrawn.")
            return redirect("referral-mine")
    return render(
        request,
        "referrals/referral_withdraw.html",
        {"referral": referral, "form": form},
        status=400 if form.errors else 200,
    )
