"""Read-only queries shaped for the API and pages."""

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AuthSession, User


def user_live_sessions(*, user: User) -> QuerySet[AuthSession]:
    return AuthSession.objects.filter(
        user=user, state=AuthSession.State.ACTIVE, expires_at__gt=timezone.now()
    ).order_by("-last_used_at")


def user_providers(*, user: User) -> list[dict]:
    return [
        {"provider": account.provider, "uid": account.uid, "connected_at": account.date_joined}
        for account in user.socialaccount_set.all()
    ]


def user_profile(*, user: User) -> dict:
    return {
        "sub": str(user.public_id),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "roles": user.role_names,
        "date_joined": user.date_joined,
        "connected_accounts": user_providers(user=user),
    }
