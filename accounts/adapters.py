"""allauth hooks: only what Warden decides differently from allauth's defaults."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.WARDEN_SIGNUP_OPEN

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys the failed-login budget by site domain, which without contrib.sites is
        # the Host header, port included: instances reached under different host names, or a
        # client varying the port, would each get a fresh budget. One account, one budget.
        login = credentials.get("email", credentials.get("username", ""))
        return f"account:{str(login).lower()}"

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
