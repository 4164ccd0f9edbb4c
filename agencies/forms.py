"""Sign-in forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from agencies.models import User

# One message for a wrong email address, a wrong password or an account that cannot sign in:
# it never says which, so nobody learns who has an account.
INVALID_SIGN_IN = "Enter a correct email address and password"


class SignInForm(AuthenticationForm):
    """Email and password, with the GOV.UK Design System's error messages."""

    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(
            attrs={"autocomplete": "username", "class": "govuk-input", "spellcheck": "false"}
        ),
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
        },
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "class": "govuk-input"}
        ),
        error_messages={"required": "Enter your password"},
    )
    error_messages = {"invalid_login": INVALID_SIGN_IN, "inactive": INVALID_SIGN_IN}

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError as error:
            if error.code not in self.error_messages:
                raise
            # On the first field, so the error summary links to it and the field shows it.
            self.add_error("username", error)
            return self.cleaned_data


def _security_code(*, max_length: int) -> forms.CharField:
    """The one-time code field, the same wherever a code is asked for."""
    return forms.CharField(
        label="Security code",
        min_length=6,
        max_length=max_length,
        widget=forms.TextInput(
            attrs={
                "class": "govuk-input govuk-input--width-10",
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
        ),
        error_messages={
            "required": "Enter the 6-digit code from your authenticator app",
            "min_length": "Enter the 6-digit code from your authenticator app",
            "max_length": "Enter the 6-digit code from your authenticator app",
        },
    )


class TokenForm(forms.Form):
    # Up to 8 characters: a recovery code is accepted where a code is asked for at sign-in.
    token = _security_code(max_length=8)


class ReauthenticateForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "class": "govuk-input"}
        ),
    )
    token = _security_code(max_length=6)


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "class": "govuk-input", "spellcheck": "false"}
        ),
    )

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("That email address is already in use.")
        return email
