"""allauth hooks: only what Warden decides differently from allauth's defaults."""

import contextlib

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

from accounts import errors, services
from accounts.models import normalize_email
from accounts.outages import BACKEND_ERRORS


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.WARDEN_SIGNUP_OPEN

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys the failed-login budget by site domain, which without contrib.sites is
        # the Host header, port included: instances reached under different host names, or a
        # client varying the port, would each get a fresh budget. One account, one budget.
        login = credentials.get("email", credentials.get("username", ""))
        return f"account:{str(login).lower()}"

    def authenticate(self, request, **credentials):
        # allauth spends a failed-login slot (per account and per IP) in pre_authenticate,
        # before the password check, and gives it back only when the password was right. If the
        # check cannot run at all because the database (or Redis) is away, the attempt never
        # happened: give the slot back too, then let the error answer 503 (api.unavailable).
        self._login_failed_rl_usage = None
        try:
            return super().authenticate(request, **credentials)
        except BACKEND_ERRORS:
            # If the cache is the one away, nothing could be spent.
            with contextlib.suppress(*BACKEND_ERRORS):
                self._rollback_login_failed_rl_usage()
            raise

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
        from accounts import services

        services.login_refused(
            caller=services.Caller.of(request),
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
        """The web flow's half of the Google rule (accounts.services.social_login_check)."""
        try:
            services.social_login_check(request=request, sociallogin=sociallogin)
        except errors.AuthError as exc:
            services.login_refused(
                caller=services.Caller.of(request),
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
        from accounts import mfa

        return mfa.secret_seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        from accounts import mfa

        return mfa.secret_unseal(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """A member of a role that requires MFA keeps at least one app or key."""
        from accounts import mfa

        user = authenticator.user
        if not mfa.user_requires_mfa(user=user):
            return True
        others = Authenticator.objects.filter(user=user, type__in=mfa.PRIMARY_TYPES).exclude(
            pk=authenticator.pk
        )
        return others.exists()
