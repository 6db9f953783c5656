"""Read-only queries shaped for the API and pages."""

from datetime import UTC, datetime, timedelta

from allauth.account.models import EmailAddress
from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from accounts.models import AuditEvent, AuthSession, User


def user_roles(*, user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def user_email_verified(*, user: User) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def user_live_sessions(*, user: User) -> QuerySet[AuthSession]:
    return AuthSession.objects.filter(
        user=user, state=AuthSession.State.ACTIVE, expires_at__gt=timezone.now()
    ).order_by("-last_used_at")


def user_providers(*, user: User) -> list[dict]:
    return [
        {"provider": account.provider, "uid": account.uid, "connected_at": account.date_joined}
        for account in user.socialaccount_set.all()
    ]


# Roles, and whether there are connected accounts, in one query: compiling the two querysets
# cost more CPU than running them, and `me` is on every page load of an app. The tables of
# auth's Group, User.groups and allauth's SocialAccount (tests/api/test_user_api.py holds the
# answers to the querysets').
ROLES_AND_SOCIAL_SQL = """SELECT 'role', g."name" FROM "auth_group" AS g
 JOIN "accounts_user_groups" AS m ON m."group_id" = g."id" WHERE m."user_id" = %s
UNION ALL
SELECT 'social', '' FROM "socialaccount_socialaccount" WHERE "user_id" = %s"""


def user_profile(*, user: User) -> dict:
    """The profile `me` answers: its roles and whether it has connected accounts in one query;
    the accounts themselves only when there are some (most users have none)."""
    with connection.cursor() as cursor:
        cursor.execute(ROLES_AND_SOCIAL_SQL, [user.pk, user.pk])
        rows = cursor.fetchall()
    social = any(kind == "social" for kind, _ in rows)
    return {
        "sub": str(user.public_id),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "roles": sorted(name for kind, name in rows if kind == "role"),
        "date_joined": user.date_joined,
        "connected_accounts": user_providers(user=user) if social else [],
    }


# --- Activity (admin index chart) ---------------------------------------------------------------

ACTIVITY_SERIES = (
    # (key, label, audit event type, outcome or None for any)
    ("sign_ins", "Sign-ins", "login", AuditEvent.Outcome.SUCCESS),
    ("failures", "Failed sign-ins", "login", AuditEvent.Outcome.FAILURE),
    ("refreshes", "Refreshes", "refresh", None),
    ("reuse", "Reuse detections", "refresh_reuse_detected", None),
)


def audit_activity(*, unit: str, buckets: int, now: datetime | None = None) -> list[dict]:
    """Counts per hour (or day) for the last `buckets` of them, oldest first, in one query."""
    # Buckets are UTC hours and days, as the admin shows them (TIME_ZONE is UTC).
    now = (now or timezone.now()).astimezone(UTC)
    if unit == "hour":
        trunc, step = TruncHour, timedelta(hours=1)
        last = now.replace(minute=0, second=0, microsecond=0)
    else:
        trunc, step = TruncDay, timedelta(days=1)
        last = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [last - step * i for i in range(buckets - 1, -1, -1)]
    rows = {start: {"start": start, **{key: 0 for key, *_ in ACTIVITY_SERIES}} for start in starts}
    grouped = (
        AuditEvent.objects.filter(
            created_at__gte=starts[0], type__in={t for _, _, t, _ in ACTIVITY_SERIES}
        )
        .annotate(bucket=trunc("created_at", tzinfo=UTC))
        .values("bucket", "type", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in grouped:
        bucket = rows.get(row["bucket"])
        if bucket is None:
            continue
        for key, _, type_, outcome in ACTIVITY_SERIES:
            if row["type"] == type_ and outcome in (None, row["outcome"]):
                bucket[key] += row["n"]
    return [rows[start] for start in starts]
