"""Receivers for changes that can come from any path: admin forms, allauth, shell, manager.

Kept thin: each one calls a flow. A signal is used because new users are created by allauth,
the admin's forms and the manager alike, and deactivation is a plain field edit in the admin.
"""

from allauth.account import signals as allauth_signals
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount.signals import social_account_added
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts import allauth_compat, tokens
from accounts.audit import Caller, audit_record
from accounts.flows import clients, google, sessions, users
from accounts.models import AuditEvent, AuthSession, ServiceClient, User


@receiver(post_save, sender=User)
def give_new_users_the_default_role(sender, instance: User, created: bool, **kwargs) -> None:
    if created and not kwargs.get("raw"):
        users.user_assign_default_role(user=instance)


@receiver(pre_save, sender=User)
def remember_active_flag_and_password(sender, instance: User, **kwargs) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {"is_active", "password"} & set(update_fields):
        return
    if instance.pk and not kwargs.get("raw"):
        previous = User.objects.filter(pk=instance.pk).values_list("is_active", "password").first()
        if previous is not None:
            instance._was_active = previous[0]
            instance._had_password = is_password_usable(previous[1])


@receiver(post_save, sender=User)
def end_sessions_when_the_password_is_removed(sender, instance: User, **kwargs) -> None:
    """A password made unusable (allauth does it when the owner of an address signs in with a
    provider that verified it, to lock out whoever registered it unverified) ends every API
    session: whoever knew that password keeps no refresh token either."""
    if getattr(instance, "_had_password", False) and not instance.has_usable_password():
        instance._had_password = False
        audit_record(type="password_removed", target=str(instance.public_id))
        sessions.user_sessions_revoke_all(user=instance, reason="password_removed")


@receiver(post_save, sender=User)
def end_sessions_of_deactivated_users(sender, instance: User, created: bool, **kwargs) -> None:
    was_active = getattr(instance, "_was_active", None)
    if was_active is not None and was_active != instance.is_active:
        users.user_active_changed(user=instance)


# A session deleted while its access tokens may still be live (in the admin, or with its user;
# the purge deletes only long-dead ones) is revoked, and leaves a tombstone for reloads. The
# cascade from a deleted user reaches this receiver for each of its sessions.
@receiver(pre_delete, sender=AuthSession)
def end_deleted_session(sender, instance: AuthSession, **kwargs) -> None:
    if instance.is_live:
        tokens.revocation.mark_session_deleted(str(instance.pk))


@receiver(pre_delete, sender=ServiceClient)
def end_deleted_client(sender, instance: ServiceClient, **kwargs) -> None:
    tokens.mark_client_state(instance.client_id, live=False, deleted=True)


# However a client is saved (the admin, a shell), this process stops reusing its old row at once.
@receiver(post_save, sender=ServiceClient)
def forget_saved_client(sender, instance: ServiceClient, **kwargs) -> None:
    clients.recent_clients.forget(instance.client_id)


# --- Audit of changes made through allauth's pages or the admin ---------------------------------


@receiver(allauth_signals.user_logged_in)
def audit_web_sign_in(sender, request, user, **kwargs) -> None:
    method = kwargs["sociallogin"].account.provider if kwargs.get("sociallogin") else "password"
    # A second factor given at this sign-in is recorded as on the API: "password+totp".
    factors = allauth_compat.web_second_factors(request, user)
    if factors:
        method = f"{method}+{factors[-1]}"
    audit_record(
        type="login",
        caller=Caller.of(request),
        user=user,
        details={"method": method, "channel": "web"},
    )


PASSWORD_EVENTS = {
    allauth_signals.password_changed: "password_changed",
    allauth_signals.password_set: "password_set",
    allauth_signals.password_reset: "password_reset",
}


@receiver(allauth_signals.password_changed)
@receiver(allauth_signals.password_set)
@receiver(allauth_signals.password_reset)
def audit_password_change(sender, request, user, signal, **kwargs) -> None:
    audit_record(
        type=PASSWORD_EVENTS[signal],
        caller=Caller.of(request),
        user=user,
        target=str(user.public_id),
    )


@receiver(m2m_changed, sender=User.groups.through)
def audit_role_change(sender, instance, action: str, pk_set, reverse: bool, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear") or not (
        pk_set or action == "post_clear"
    ):
        return
    roles = sorted(Group.objects.filter(pk__in=pk_set or ()).values_list("name", flat=True))
    users = [instance] if not reverse else list(User.objects.filter(pk__in=pk_set or ()))
    for user in users:
        audit_record(
            type="role_changed",
            user=getattr(instance, "_audit_actor", None),
            target=str(user.public_id),
            details={
                "action": action.removeprefix("post_"),
                "roles": roles if not reverse else [instance.name],
            },
        )


# --- Second factors changed on the web pages (allauth.mfa) -------------------------------------


@receiver(mfa_signals.authenticator_added)
def audit_factor_added(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(
        type="mfa_added", caller=Caller.of(request), user=user, details={"kind": authenticator.type}
    )


@receiver(mfa_signals.authenticator_removed)
def audit_factor_removed(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(
        type="mfa_removed",
        caller=Caller.of(request),
        user=user,
        details={"kind": authenticator.type},
    )


@receiver(mfa_signals.authentication_failed)
def audit_factor_failed(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(
        type="mfa_failed",
        caller=Caller.of(request),
        outcome=AuditEvent.Outcome.FAILURE,
        user=user,
        details={"method": "web", "kind": authenticator.type, "reason": "incorrect_code"},
    )


@receiver(social_account_added)
def trust_the_providers_verified_email(sender, request, sociallogin, **kwargs) -> None:
    google.social_email_confirm(user=sociallogin.user, sociallogin=sociallogin)
