"""allauth hooks: only what Warden decides differently from allauth's defaults."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.WARDEN_SIGNUP_OPEN

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys the failed-login budget by site domain, which without contrib.sites is
        # the Host header, port included: instances reached under different host names, or a
        # client varying the port, would each get a fresh budget. One account, one budget.
        login = credentials.get("email", credentials.get("username", ""))
        return f"account:{str(login).lower()}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return settings.WARDEN_SIGNUP_OPEN
