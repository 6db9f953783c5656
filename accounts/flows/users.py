"""Users and roles: the default role, and what a deactivation ends."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group

from accounts.audit import audit_record
from accounts.flows.sessions import user_sessions_revoke_all
from accounts.models import User


def user_assign_default_role(*, user: User) -> None:
    role, _ = Group.objects.get_or_create(name=settings.DEFAULT_ROLE)
    user.groups.add(role)


def user_active_changed(*, user: User, actor: User | None = None) -> None:
    """A deactivated user is refused everywhere at once: every session ends."""
    audit_record(
        type="user_activation_changed",
        user=actor,
        target=str(user.public_id),
        details={"is_active": user.is_active},
    )
    if not user.is_active:
        user_sessions_revoke_all(user=user, reason="user_deactivated", actor=actor)
