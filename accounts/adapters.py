"""allauth hooks: only what Warden decides differently from allauth's defaults."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.base.constants import AuthError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import errors
from accounts.allauth_compat import LoginAttemptsMixin
from accounts.audit import Caller, login_refused
from accounts.flows import google, mfa
from accounts.models import normalize_email


class AccountAdapter(LoginAttemptsMixin, DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.WARDEN_SIGNUP_OPEN

    # Web and API sign-ins both pass through these two hooks, so failures are audited once here.
    def pre_authenticate(self, request, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            self._audit_failure(request, credentials, reason="rate_limited")
            raise

    def authentication_failed(self, request, **credentials) -> None:
        self._audit_failure(request, credentials, reason="bad_credentials")

    @staticmethod
    def _audit_failure(request, credentials: dict, *, reason: str) -> None:
        login_refused(
            caller=Caller.of(request),
            reason=reason,
            email=str(credentials.get("email") or credentials.get("username") or "")[:254],
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return settings.WARDEN_SIGNUP_OPEN

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.email = normalize_email(user.email)  # emails are stored lowercased
        return user

    def pre_social_login(self, request, sociallogin) -> None:
        """The web flow's half of the Google rule (accounts.flows.google.social_login_check)."""
        try:
            google.social_login_check(request=request, sociallogin=sociallogin)
        except errors.AuthError as exc:
            login_refused(
                caller=Caller.of(request),
                reason=exc.extra.get("reason", "refused"),
                email=sociallogin.user.email if sociallogin.user else "",
                method=sociallogin.account.provider,
            )
            raise ImmediateHttpResponse(
                render_authentication_error(
                    request,
                    sociallogin.provider,
                    error=AuthError.DENIED,
                    extra_context={"reason": exc.description},
                )
            ) from exc

    def save_user(self, request, sociallogin, form=None):
        # The user, its email address and its social account appear together or not at all.
        with transaction.atomic():
            return super().save_user(request, sociallogin, form=form)


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return mfa.secret_seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa.secret_unseal(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """A member of a role that requires MFA keeps at least one app or key."""
        user = authenticator.user
        if not mfa.user_requires_mfa(user=user):
            return True
        others = Authenticator.objects.filter(user=user, type__in=mfa.PRIMARY_TYPES).exclude(
            pk=authenticator.pk
        )
        return others.exists()
