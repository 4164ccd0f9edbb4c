"""Who is calling the API: an agency's system (OAuth2 client credentials) or a signed-in person.

A client-credentials token carries no user, so the token's application stands for its owner: the
agency's system account, whose one membership (role `agency_system`) scopes it to that agency
through the same selectors as the pages.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.signals import setting_changed
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from rest_framework.request import Request
from rest_framework.views import APIView

READ = "referrals:read"
WRITE = "referrals:write"


class AgencyTokenValidator(OAuth2Validator):
    """Reads a token with its application's owner (the agency's system account) in one query:
    a client-credentials token carries no user, so the owner is who is calling."""

    def _load_access_token(self, token: str) -> AccessToken | None:
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application__user", "user")
            .filter(token_checksum=checksum)
            .first()
        )


@functools.cache
def _oauthlib_core() -> OAuthLibCore:
    """One oauthlib server per process, not one per request as django-oauth-toolkit builds
    (it holds no request's state; building it costs more CPU than checking a token)."""
    server = oauth2_settings.OAUTH2_SERVER_CLASS(
        AgencyTokenValidator(), **oauth2_settings.server_kwargs
    )
    return OAuthLibCore(server)


def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting == "OAUTH2_PROVIDER":
        _oauthlib_core.cache_clear()


setting_changed.connect(_settings_changed)


class AgencyClientAuthentication(OAuth2Authentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        # Only a Bearer header: oauthlib would otherwise parse the body looking for a token.
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return None
        # As OAuth2Authentication.authenticate, with the server above.
        try:
            valid, oauth_request = _oauthlib_core().verify_request(request, scopes=[])
        except ValueError as error:
            if str(error) == "Invalid hex encoding in query string.":
                raise SuspiciousOperation(error) from error
            raise
        if not valid:
            request.oauth2_error = getattr(oauth_request, "oauth2_error", {})  # type: ignore[attr-defined]
            return None
        user, token = oauth_request.user, oauth_request.access_token
        if user is None and token.application is not None:
            user = token.application.user
        if user is None or not user.is_active:
            return None
        return user, token


class AgencyClientScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "referrals.api.auth.AgencyClientAuthentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema: Any) -> Any:
        view = auto_schema.view
        return {self.name: scopes_for(view, auto_schema.method)}

    def get_security_definition(self, auto_schema: Any) -> Any:
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": settings.OAUTH2_PROVIDER["SCOPES"],
                }
            },
        }


def scopes_for(view: Any, method: str) -> list[str]:
    return [WRITE] if method.upper() in view.write_methods else [READ]


class ScopeOrVerifiedSession(TokenHasScope):
    """A token needs the operation's scope; a person needs a session that passed MFA."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, AccessToken):
            return super().has_permission(request, view)
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return not settings.REQUIRE_MFA or bool(getattr(user, "is_verified", bool)())

    def get_scopes(self, request: Request, view: Any) -> list[str]:
        return scopes_for(view, request.method or "GET")
