"""Pages for concerns, children, referrals and their files. Ids only: no personal data in URLs."""

from __future__ import annotations

from django.urls import path

from referrals.web.views.audit import child_access_log, referral_access_log
from referrals.web.views.children import child_add, child_find, child_search
from referrals.web.views.chronology import child_chronology_export, child_detail
from referrals.web.views.concerns import (
    concern_addendum,
    concern_detail,
    concern_list,
    concern_new,
    concern_review_page,
    draft_delete,
)
from referrals.web.views.drafts import draft_list
from referrals.web.views.files import attachment_download, concern_attach, referral_attach
from referrals.web.views.joined_up import (
    child_choose,
    child_matches_page,
    child_merge_view,
    child_not_match_view,
    child_unmerge_view,
    concern_share_view,
    household_add,
)
from referrals.web.views.notifications import (
    notification_list,
    notification_open_view,
    notification_settings,
    notifications_read_all_view,
)
from referrals.web.views.queue import manager_dashboard, referral_queue
from referrals.web.views.referrals import (
    referral_check,
    referral_mine,
    referral_new,
    referral_withdraw_page,
)
from referrals.web.views.triage import (
    referral_acknowledge_view,
    referral_claim_view,
    referral_close_view,
    referral_decide_page,
    referral_note_view,
    referral_reassign_page,
    referral_reply_view,
    referral_request_information_view,
    referral_share_page,
    referral_transfer_page,
    share_revoke_view,
)

urlpatterns = [
    path("notifications/", notification_list, name="notification-list"),
    path("notifications/<int:pk>/", notification_open_view, name="notification-open"),
    path("notifications/read/", notifications_read_all_view, name="notification-read-all"),
    path("notifications/email/", notification_settings, name="notification-settings"),
    path("concerns/", concern_list, name="concern-list"),
    path("concerns/new/", child_find, {"kind": "concern"}, name="concern-start"),
    path("concerns/<int:pk>/", concern_detail, name="concern-detail"),
    path("concerns/<int:pk>/review/", concern_review_page, name="concern-review"),
    path("concerns/<int:pk>/addenda/", concern_addendum, name="concern-addendum"),
    path("concerns/<int:pk>/files/", concern_attach, name="concern-attach"),
    path("children/find/<str:kind>/", child_find, name="child-find"),
    path("children/new/<str:kind>/", child_add, name="child-add"),
    path("children/search/", child_search, name="child-search"),
    path("children/<int:pk>/", child_detail, name="child-detail"),
    path(
        "children/<int:pk>/chronology.pdf",
        child_chronology_export,
        {"fmt": "pdf"},
        name="child-chronology-pdf",
    ),
    path(
        "children/<int:pk>/chronology.csv",
        child_chronology_export,
        {"fmt": "csv"},
        name="child-chronology-csv",
    ),
    path("children/<int:child_pk>/concerns/new/", concern_new, name="concern-new"),
    path("children/<int:child_pk>/referrals/new/", referral_new, name="referral-new"),
    path(
        "children/<int:child_pk>/referrals/check/",
        referral_check,
        name="referral-check",
    ),
    path("referrals/new/", child_find, {"kind": "referral"}, name="referral-start"),
    path("referrals/mine/", referral_mine, name="referral-mine"),
    path(
        "referrals/<int:pk>/withdraw/",
        referral_withdraw_page,
        name="referral-withdraw",
    ),
    path("referrals/<int:pk>/files/", referral_attach, name="referral-attach"),
    path("files/<int:pk>/", attachment_download, name="attachment-download"),
    path("drafts/", draft_list, name="draft-list"),
    path("drafts/<int:pk>/delete/", draft_delete, name="draft-delete"),
    # The front door (issue 4).
    path("queue/", referral_queue, name="referral-queue"),
    path("dashboard/", manager_dashboard, name="manager-dashboard"),
    path("referrals/<int:pk>/claim/", referral_claim_view, name="referral-claim"),
    path(
        "referrals/<int:pk>/acknowledge/",
        referral_acknowledge_view,
        name="referral-acknowledge",
    ),
    path(
        "referrals/<int:pk>/information-request/",
        referral_request_information_view,
        name="referral-request-information",
    ),
    path("referrals/<int:pk>/reply/", referral_reply_view, name="referral-reply"),
    path("referrals/<int:pk>/notes/", referral_note_view, name="referral-note"),
    path("referrals/<int:pk>/decide/", referral_decide_page, name="referral-decide"),
    path("referrals/<int:pk>/close/", referral_close_view, name="referral-close"),
    path("referrals/<int:pk>/transfer/", referral_transfer_page, name="referral-transfer"),
    path("referrals/<int:pk>/share/", referral_share_page, name="referral-share"),
    path(
        "referrals/<int:pk>/shares/<int:share_pk>/revoke/",
        share_revoke_view,
        name="share-revoke",
    ),
    path("referrals/<int:pk>/reassign/", referral_reassign_page, name="referral-reassign"),
    # The joined-up picture (issue 9).
    path("children/find/<str:kind>/<int:pk>/", child_choose, name="child-choose"),
    path("children/<int:pk>/matches/", child_matches_page, name="child-matches"),
    path(
        "children/<int:pk>/matches/<int:other_pk>/merge/",
        child_merge_view,
        name="child-merge",
    ),
    path(
        "children/<int:pk>/matches/<int:other_pk>/different/",
        child_not_match_view,
        name="child-not-match",
    ),
    path(
        "children/<int:pk>/merges/<int:decision_pk>/undo/",
        child_unmerge_view,
        name="child-unmerge",
    ),
    path("children/<int:pk>/household/new/", household_add, name="household-add"),
    path("concerns/<int:pk>/share/", concern_share_view, name="concern-share"),
    # Who has seen this (issue 7).
    path("children/<int:pk>/access/", child_access_log, name="child-access-log"),
    path("referrals/<int:pk>/access/", referral_access_log, name="referral-access-log"),
]
