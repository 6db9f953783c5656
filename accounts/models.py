"""Warden's domain: users, roles, sign-in sessions, service clients, signing keys, audit events."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

DUPLICATE_EMAIL = "A user with this email address already exists."
ADMIN_ROLE = "admin"  # what HasRole("admin") (the admin API) asks for; migration 0002 makes it


def normalize_email(email: str) -> str:
    """Email is the login name and is compared case-insensitively, so it is stored lowercased."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        email = normalize_email(email)
        if not email:
            raise ValueError("An email address is required.")
        if self.filter(email__iexact=email).exists():
            raise ValidationError({"email": DUPLICATE_EMAIL}, code="unique")
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        with transaction.atomic(using=self._db):
            user = self._create_user(email, password, **extra_fields)
            # The admin API asks for the role, not is_superuser: without it the first account,
            # made by `createsuperuser`, could not use it.
            user.groups.add(Group.objects.db_manager(self._db).get_or_create(name=ADMIN_ROLE)[0])
        return user

    def get_by_natural_key(self, username: str):
        return self.get(email__iexact=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    # Tokens carry this as `sub`: it reveals nothing about sign-up order or user count.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(
        "email address", max_length=254, unique=True, error_messages={"unique": DUPLICATE_EMAIL}
    )
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive users cannot sign in anywhere and their tokens stop."
    )
    is_staff = models.BooleanField(default=False, help_text="May sign in to the admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=DUPLICATE_EMAIL,
            )
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())


class Role(Group):
    """Django's auth groups, shown as the roles they are."""

    class Meta:
        proxy = True
        verbose_name = "role"
        verbose_name_plural = "roles"


class SigningKey(models.Model):
    class State(models.TextChoices):
        CURRENT = "current", "current (signs new tokens)"
        VERIFYING = "verifying", "verifying (published until retired)"
        RETIRED = "retired", "retired"

    class Algorithm(models.TextChoices):
        RS256 = "RS256"
        ES256 = "ES256"

    kid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 JWK thumbprint")
    algorithm = models.CharField(max_length=8, choices=Algorithm.choices)
    public_jwk = models.JSONField()
    private_key_encrypted = models.TextField(help_text="PEM, Fernet-encrypted at rest")
    state = models.CharField(max_length=16, choices=State.choices, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    retire_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two instances starting on an empty table, or two rotations at once, must not
            # leave two signers: the database refuses the second.
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="current"),
                name="one_current_signing_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid} ({self.state})"


class ResourceServer(models.Model):
    """A service tokens are addressed to (RFC 8707 `resource`, the tokens' `aud`)."""

    class Claim(models.TextChoices):
        USER_ID = "userId", "userId (the user's public id)"
        ROLE = "role", "role (admin if held, else the first role)"

    identifier = models.CharField(
        max_length=255, unique=True, help_text="A URI or a name; tokens carry it as `aud`."
    )
    scopes = models.JSONField(default=list, blank=True, help_text="The scopes it defines.")
    access_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; empty: Warden's default lifetime."
    )
    claims = models.JSONField(
        default=list, blank=True, help_text="Extra claims its tokens carry: userId, role."
    )
    algorithm = models.CharField(
        max_length=8,
        choices=SigningKey.Algorithm.choices,
        blank=True,
        help_text="Empty: the key ring's current algorithm.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["identifier"]

    def __str__(self) -> str:
        return self.identifier


class ServiceClient(models.Model):
    name = models.CharField(max_length=150, unique=True)
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    # SHA-256 of a 256-bit generated secret: a slow hash buys nothing against a secret
    # that cannot be guessed, and would make every client_credentials call expensive.
    secret_hash = models.CharField(max_length=128, editable=False)
    allowed_scopes = models.JSONField(default=list, blank=True)
    # Resource-server identifiers: those it may ask tokens for (and whose user tokens it may
    # exchange), and those it may exchange a user's token for (RFC 8693).
    allowed_audiences = models.JSONField(default=list, blank=True)
    exchange_audiences = models.JSONField(default=list, blank=True)
    access_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; empty: the audience's or Warden's default."
    )
    # RFC 7523 private_key_jwt: the client signs assertions with a key registered here.
    public_key_pem = models.TextField(blank=True)
    jwks_url = models.URLField(blank=True, max_length=500)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(default=timezone.now)
    # A revocation-feed receiver (scope ssf:poll) with this set also gets its events pushed
    # (RFC 8935) by `manage.py deliver_events`.
    push_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class AuthSession(models.Model):
    """One sign-in: the family of refresh tokens that descends from it."""

    class State(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    client = models.ForeignKey(
        ServiceClient, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    method = models.CharField(max_length=32, default="password")
    # What the sign-in granted: a refresh may narrow it, never widen it. Empty: the default.
    audience = models.CharField(max_length=255, blank=True)
    scope = models.CharField(max_length=1024, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # Only the digest of the one refresh token that may still be exchanged, never the token,
    # and of the one it replaced (for the retry grace and reuse detection).
    refresh_digest = models.CharField(max_length=64)
    previous_refresh_digest = models.CharField(max_length=64, blank=True)
    generation = models.PositiveIntegerField(default=0)  # rotations so far
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "session"
        indexes = [
            models.Index(fields=["user", "state"]),
            # What each process reloads as "revoked within one token lifetime".
            models.Index(
                fields=["revoked_at"],
                condition=models.Q(state="revoked"),
                name="session_revoked_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.id}"

    @property
    def is_live(self) -> bool:
        return self.state == self.State.ACTIVE and self.expires_at > timezone.now()


class ConsumedToken(models.Model):
    """Ids of single-use tokens already spent (MFA tokens, Google ID tokens, client assertions)."""

    jti = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.jti}"


class AuditEvent(models.Model):
    """Append-only record of what happened; never holds a password, token or secret."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    type = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_client = models.ForeignKey(
        ServiceClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["type", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.type} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class RolePolicy(models.Model):
    """Rules that come with a role; a role without a row has none of them."""

    role = models.OneToOneField(
        Group, on_delete=models.CASCADE, primary_key=True, related_name="policy"
    )
    require_mfa = models.BooleanField(
        "require a second factor",
        default=False,
        help_text="Members must set up an authenticator app or security key before they can "
        "use their account, on the web and through the API.",
    )

    class Meta:
        verbose_name = "role policy"
        verbose_name_plural = "role policy"

    def __str__(self) -> str:
        return f"policy of {self.role.name}"


class SecurityEvent(models.Model):
    """The outbox: a revocation, written in the transaction that made it (accounts/events)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    event_type = models.CharField(max_length=200)
    subject = models.JSONField(help_text="RFC 9493 subject identifier (the SET's sub_id)")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type.rpartition('/')[2]} {self.subject.get('id', '')}"


class EventDelivery(models.Model):
    """One event for one receiver: pending until the receiver acknowledges it (poll) or
    accepts it (push). Its `jti` is the SET's, the same at every attempt."""

    jti = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(SecurityEvent, on_delete=models.CASCADE, related_name="deliveries")
    receiver = models.ForeignKey(
        ServiceClient, on_delete=models.CASCADE, related_name="event_deliveries"
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # push attempts
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "event deliveries"
        indexes = [models.Index(fields=["receiver", "delivered_at", "id"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.receiver}"
