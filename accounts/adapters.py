"""allauth hooks: only what Warden decides differently from allauth's defaults."""

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.base.constants import AuthError
from django.conf import settings
from django.db import transaction

from accounts import errors, services
from accounts.models import normalize_email


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.WARDEN_SIGNUP_OPEN


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
            services.audit_record(
                type="login",
                caller=services.Caller(
                    ip=get_adapter(request).get_client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                ),
                outcome="failure",
                target=sociallogin.account.uid,
                details={
                    "method": sociallogin.account.provider,
                    "reason": exc.extra.get("reason", "refused"),
                },
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
