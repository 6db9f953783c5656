"""Web policy: members of a role that requires MFA set up a second factor before anything else."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from accounts.flows import mfa

# Paths that never carry a web session user worth checking (token APIs, health, discovery).
NON_PAGE_PREFIXES = ("/api/", "/.well-known/", "/healthz", "/readyz")
SETUP_URL_NAMES = (
    "mfa_index",  # /accounts/2fa/: TOTP, WebAuthn and recovery-code pages live under it
    "account_reauthenticate",
    "account_logout",
    "account_email",
    "account_email_verification_sent",
)


class MfaPolicyMiddleware:
    """Redirects a signed-in member of an MFA-requiring role without a factor to TOTP set-up.

    Allowed meanwhile: the MFA pages, re-authentication (adding a factor may ask for the
    password again), email verification (allauth adds factors only to verified accounts),
    sign-out and static files. The admin is not allowed: staff set up their factor first.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None

    def allowed_prefixes(self) -> tuple[str, ...]:
        if self._allowed is None:
            static = "/" + settings.STATIC_URL.lstrip("/")
            self._allowed = (
                *NON_PAGE_PREFIXES,
                static,
                *(reverse(name) for name in SETUP_URL_NAMES),
            )
        return self._allowed

    def __call__(self, request):
        if not request.path_info.startswith(self.allowed_prefixes()):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and mfa.user_must_set_up_mfa(user=user):
                messages.warning(
                    request,
                    "Your role requires two-factor authentication: set up an authenticator "
                    "app to continue.",
                )
                return redirect("mfa_activate_totp")
        return self.get_response(request)
