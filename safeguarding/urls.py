"""Every URL of the service."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth2_views

from agencies import views as agency_views
from agencies.forms import SignInForm
from referrals.web.views.home import home, referral_detail
from safeguarding import pages
from safeguarding.views import healthz

SWAGGER_UI_INLINE_STYLE = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"

urlpatterns = [
    path("", home, name="home"),
    path("referrals/<int:pk>/", referral_detail, name="referral-detail"),
    path("", include("referrals.web.urls")),
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
    path(
        "accounts/mfa/recovery-codes/",
        agency_views.mfa_recovery_codes,
        name="mfa-recovery-codes",
    ),
    path("accounts/session/keep-alive/", agency_views.session_keep_alive, name="keep-alive"),
    # Sign-in details and sessions (issue 7): everything here needs a verified session.
    path("accounts/security/", agency_views.account_security, name="account-security"),
    path("accounts/security/confirm/", agency_views.reauthenticate_view, name="reauthenticate"),
    path("accounts/security/email/", agency_views.email_change, name="email-change"),
    path(
        "accounts/security/authenticator/replace/",
        agency_views.mfa_replace,
        name="mfa-replace",
    ),
    path(
        "accounts/security/recovery-codes/",
        agency_views.recovery_codes_new,
        name="recovery-codes-new",
    ),
    path(
        "accounts/security/sessions/<int:pk>/end/",
        agency_views.session_end,
        name="session-end",
    ),
    path("accounts/agency/", agency_views.agency_users, name="agency-users"),
    path(
        "accounts/agency/users/<int:pk>/mfa-reset/",
        agency_views.user_mfa_reset,
        name="user-mfa-reset",
    ),
    # The pages every public service has (issue 15): open to everyone, linked from the footer.
    path("accessibility/", pages.accessibility_statement, name="accessibility"),
    path("privacy/", pages.privacy_notice, name="privacy"),
    path("cookies/", pages.cookies, name="cookies"),
    path("help/", pages.help_and_contact, name="help"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("referrals.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # Swagger UI sets one fixed inline style; allow exactly that one by its hash.
        csp_update({"style-src": [SWAGGER_UI_INLINE_STYLE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # Only what machine clients need from django-oauth-toolkit: no application registration.
    path("o/token/", oauth2_views.TokenView.as_view(), name="oauth2-token"),
    path("o/revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="oauth2-revoke"),
    path("admin/", admin.site.urls),
]

# Under /api/ errors are problems (application/problem+json); elsewhere Django's pages.
handler400 = "referrals.api.problems.bad_request"
handler404 = "referrals.api.problems.not_found"
handler500 = "referrals.api.problems.server_error"
