"""What Warden keeps as an OpenID Provider; secrets and codes only as SHA-256 digests."""

from django.conf import settings
from django.db import models
from django.utils import timezone


def _empty_list() -> list:
    return []


def _code_grants() -> list:
    return ["authorization_code", "refresh_token"]


class OidcClient(models.Model):
    """A web app or CLI that signs its users in through Warden."""

    client = models.OneToOneField(
        "accounts.ServiceClient", on_delete=models.CASCADE, primary_key=True, related_name="oidc"
    )
    public = models.BooleanField(
        default=False, help_text="No secret (a CLI, a single-page app): PKCE is required."
    )
    redirect_uris = models.JSONField(default=_empty_list, help_text="Exact matches only.")
    post_logout_redirect_uris = models.JSONField(default=_empty_list, blank=True)
    backchannel_logout_uri = models.URLField(blank=True, max_length=500)
    grant_types = models.JSONField(default=_code_grants)
    first_party = models.BooleanField(
        default=False, help_text="Ours: users are never asked to consent."
    )
    logo_uri = models.URLField(blank=True, max_length=500)
    require_par = models.BooleanField(
        "require pushed authorization requests",
        default=False,
        help_text="Authorization requests must come through the PAR endpoint (RFC 9126).",
    )

    class Meta:
        verbose_name = "OpenID Connect client"
        ordering = ["client__name"]

    def __str__(self) -> str:
        return str(self.client)


class AuthorizationCode(models.Model):
    """One authorization code: spent once, within a minute; remembers what it was issued for."""

    code_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey("accounts.ServiceClient", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.TextField()
    scope = models.CharField(max_length=500)
    nonce = models.CharField(max_length=500, blank=True)
    code_challenge = models.CharField(max_length=128, blank=True)
    auth_time = models.DateTimeField()
    amr = models.JSONField(default=_empty_list)
    browser_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # The session its exchange opened: a second exchange revokes it (RFC 6749 §4.1.2).
    session = models.ForeignKey(
        "accounts.AuthSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"code for {self.client_id} ({'used' if self.used_at else 'unused'})"


class OidcSession(models.Model):
    """What an OpenID sign-in adds to a Warden session (AuthSession, whose id is `sid`)."""

    session = models.OneToOneField(
        "accounts.AuthSession", on_delete=models.CASCADE, primary_key=True, related_name="oidc"
    )
    client = models.ForeignKey("accounts.ServiceClient", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=500)
    auth_time = models.DateTimeField()
    amr = models.JSONField(default=_empty_list)
    # Digest of the Warden web session (Django session key) it was signed in from, so signing
    # out of Warden ends the apps' sessions too. Empty for the device flow.
    browser_key = models.CharField(max_length=64, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.session_id} ({self.scope})"


class Consent(models.Model):
    """The scopes a user allowed an app; asked again only for more."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey("accounts.ServiceClient", on_delete=models.CASCADE, related_name="+")
    scopes = models.JSONField(default=_empty_list)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "client"], name="oidc_one_consent_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.user} -> {self.client}: {' '.join(self.scopes)}"


class DeviceAuthorization(models.Model):
    """RFC 8628: a device's pending sign-in, approved by the user on Warden's page."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        DONE = "done"

    device_code_digest = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=16, unique=True)
    client = models.ForeignKey("accounts.ServiceClient", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    auth_time = models.DateTimeField(null=True, blank=True)
    amr = models.JSONField(default=_empty_list)
    interval = models.PositiveIntegerField(default=5)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user_code} ({self.status})"


class PushedRequest(models.Model):
    """RFC 9126: authorization parameters pushed by the client, used once by `request_uri`."""

    reference = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey("accounts.ServiceClient", on_delete=models.CASCADE, related_name="+")
    params = models.JSONField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"pushed request of {self.client_id}"
