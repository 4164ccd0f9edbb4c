"""Every URL of the service."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from agencies import views as agency_views
from agencies.forms import SignInForm
from referrals import views as referral_views
from safeguarding.views import healthz

urlpatterns = [
    path("", referral_views.home, name="home"),
    path("referrals/<int:pk>/", referral_views.referral_detail, name="referral-detail"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/mfa/", agency_views.mfa_verify, name="mfa-verify"),
    path("accounts/mfa/enrol/", agency_views.mfa_enrol, name="mfa-enrol"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
