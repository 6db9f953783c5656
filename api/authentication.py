"""DRF authentication that accepts live Warden access tokens and nothing else.

Named in REST_FRAMEWORK's defaults, so DRF imports it while `rest_framework.views` loads: it
must import no view (client authentication, which needs the request helpers, is in
api/client_auth.py).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts import tokens


@dataclass
class ServicePrincipal:
    """The caller behind a client-credentials token."""

    client_id: str
    scopes: list[str] = field(default_factory=list)
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False


class WardenTokenAuthentication(JWTAuthentication):
    """Bearer access tokens only: refresh and MFA tokens, and revoked sessions, are refused.

    simplejwt's class finds the header and the raw token (AUTH_HEADER_TYPES); the check itself
    is Warden's (pinned algorithm, `iss`, `aud`, `typ`, revocation), as everywhere else.
    """

    www_authenticate_realm = "warden"

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        try:
            # Warden's own API: only tokens for the default audience, never a service's.
            claims = tokens.access_token_check(raw=raw, audience=settings.WARDEN_AUDIENCE)
        except tokens.TokenInvalid as exc:
            raise exceptions.AuthenticationFailed(exc.reason, code="invalid_token") from exc
        if tokens.subject_type(claims) == "service":
            return ServicePrincipal(claims["client_id"], claims.get("scope", "").split()), claims
        user = get_user_model().objects.filter(public_id=claims["sub"], is_active=True).first()
        if user is None:
            raise exceptions.AuthenticationFailed("user inactive or deleted", code="invalid_token")
        return user, claims

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="warden", error="invalid_token"'
