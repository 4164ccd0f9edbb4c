"""Pages for concerns, children, referrals and their files. Ids only: no personal data in URLs."""

from __future__ import annotations

from django.urls import path

from referrals import views_concerns as concerns
from referrals import views_joined_up as joined_up
from referrals import views_referrals as referrals
from referrals import views_triage as triage
from referrals.views_audit import child_access_log, referral_access_log

urlpatterns = [
    path("concerns/", concerns.concern_list, name="concern-list"),
    path("concerns/new/", concerns.child_find, {"kind": "concern"}, name="concern-start"),
    path("concerns/<int:pk>/", concerns.concern_detail, name="concern-detail"),
    path("concerns/<int:pk>/review/", concerns.concern_review_page, name="concern-review"),
    path("concerns/<int:pk>/addenda/", concerns.concern_addendum, name="concern-addendum"),
    path("concerns/<int:pk>/files/", concerns.concern_attach, name="concern-attach"),
    path("children/find/<str:kind>/", concerns.child_find, name="child-find"),
    path("children/new/<str:kind>/", concerns.child_add, name="child-add"),
    path("children/<int:pk>/", concerns.child_detail, name="child-detail"),
    path("children/<int:child_pk>/concerns/new/", concerns.concern_new, name="concern-new"),
    path("children/<int:child_pk>/referrals/new/", referrals.referral_new, name="referral-new"),
    path(
        "children/<int:child_pk>/referrals/check/",
        referrals.referral_check,
        name="referral-check",
    ),
    path("referrals/new/", concerns.child_find, {"kind": "referral"}, name="referral-start"),
    path("referrals/mine/", referrals.referral_mine, name="referral-mine"),
    path(
        "referrals/<int:pk>/withdraw/",
        referrals.referral_withdraw_page,
        name="referral-withdraw",
    ),
    path("referrals/<int:pk>/files/", concerns.referral_attach, name="referral-attach"),
    path("files/<int:pk>/", concerns.attachment_download, name="attachment-download"),
    path("drafts/<int:pk>/delete/", concerns.draft_delete, name="draft-delete"),
    # The front door (issue 4).
    path("queue/", triage.referral_queue, name="referral-queue"),
    path("dashboard/", triage.manager_dashboard, name="manager-dashboard"),
    path("referrals/<int:pk>/claim/", triage.referral_claim_view, name="referral-claim"),
    path(
        "referrals/<int:pk>/acknowledge/",
        triage.referral_acknowledge_view,
        name="referral-acknowledge",
    ),
    path(
        "referrals/<int:pk>/information-request/",
        triage.referral_request_information_view,
        name="referral-request-information",
    ),
    path("referrals/<int:pk>/reply/", triage.referral_reply_view, name="referral-reply"),
    path("referrals/<int:pk>/notes/", triage.referral_note_view, name="referral-note"),
    path("referrals/<int:pk>/decide/", triage.referral_decide_page, name="referral-decide"),
    path("referrals/<int:pk>/transfer/", triage.referral_transfer_page, name="referral-transfer"),
    path("referrals/<int:pk>/share/", triage.referral_share_page, name="referral-share"),
    path(
        "referrals/<int:pk>/shares/<int:share_pk>/revoke/",
        triage.share_revoke_view,
        name="share-revoke",
    ),
    path("referrals/<int:pk>/reassign/", triage.referral_reassign_page, name="referral-reassign"),
    # The joined-up picture (issue 9).
    path("children/find/<str:kind>/<int:pk>/", joined_up.child_choose, name="child-choose"),
    path("children/<int:pk>/matches/", joined_up.child_matches_page, name="child-matches"),
    path(
        "children/<int:pk>/matches/<int:other_pk>/merge/",
        joined_up.child_merge_view,
        name="child-merge",
    ),
    path(
        "children/<int:pk>/matches/<int:other_pk>/different/",
        joined_up.child_not_match_view,
        name="child-not-match",
    ),
    path(
        "children/<int:pk>/merges/<int:decision_pk>/undo/",
        joined_up.child_unmerge_view,
        name="child-unmerge",
    ),
    path("children/<int:pk>/household/new/", joined_up.household_add, name="household-add"),
    path("concerns/<int:pk>/share/", joined_up.concern_share_view, name="concern-share"),
    # Who has seen this (issue 7).
    path("children/<int:pk>/access/", child_access_log, name="child-access-log"),
    path("referrals/<int:pk>/access/", referral_access_log, name="referral-access-log"),
]
