"""/api/v1/: the agencies' API."""

from __future__ import annotations

from django.urls import path

from referrals.api import views

urlpatterns = [
    path("referrals/", views.ReferralsView.as_view(), name="api-referrals"),
    path("referrals/search/", views.ReferralSearchView.as_view(), name="api-referral-search"),
    path("referrals/<int:pk>/", views.ReferralDetailView.as_view(), name="api-referral"),
    path(
        "referrals/<int:pk>/receipt/",
        views.ReferralReceiptView.as_view(),
        name="api-referral-receipt",
    ),
    path("children/", views.ChildrenView.as_view(), name="api-children"),
    path("children/<int:pk>/", views.ChildDetailView.as_view(), name="api-child"),
    path("agencies/", views.AgencyDirectoryView.as_view(), name="api-agencies"),
]
