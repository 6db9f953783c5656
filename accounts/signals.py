"""Receivers for changes that can come from any path: admin forms, allauth, shell, manager.

Kept thin: each one calls a service. A signal is used because new users are created by allauth,
the admin's forms and the manager alike, and deactivation is a plain field edit in the admin.
"""

from allauth.account.adapter import get_adapter
from allauth.account.signals import user_logged_in
from allauth.socialaccount.signals import social_account_added
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts import services, tokens
from accounts.models import AuthSession, User


@receiver(post_save, sender=User)
def give_new_users_the_default_role(sender, instance: User, created: bool, **kwargs) -> None:
    if created and not kwargs.get("raw"):
        services.user_assign_default_role(user=instance)


@receiver(pre_save, sender=User)
def remember_active_flag(sender, instance: User, **kwargs) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "is_active" not in update_fields:
        return
    if instance.pk and not kwargs.get("raw"):
        previous = User.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
        instance._was_active = previous


@receiver(post_save, sender=User)
def end_sessions_of_deactivated_users(sender, instance: User, created: bool, **kwargs) -> None:
    was_active = getattr(instance, "_was_active", None)
    if was_active is not None and was_active != instance.is_active:
        services.user_active_changed(user=instance)


@receiver(pre_delete, sender=User)
def end_sessions_of_deleted_users(sender, instance: User, **kwargs) -> None:
    for sid in AuthSession.objects.filter(user=instance).values_list("pk", flat=True):
        tokens.mark_session_dead(str(sid))


@receiver(social_account_added)
def trust_the_providers_verified_email(sender, request, sociallogin, **kwargs) -> None:
    services.social_email_confirm(user=sociallogin.user, sociallogin=sociallogin)


@receiver(user_logged_in)
def audit_web_sign_in_with_a_provider(sender, request, user, sociallogin=None, **kwargs) -> None:
    # The API's sign-ins are audited by the services that open their sessions; a web sign-in
    # through Google is seen only here.
    if sociallogin is None:
        return
    caller = services.Caller(
        ip=get_adapter(request).get_client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    services.audit_record(
        type="login",
        caller=caller,
        user=user,
        details={"method": sociallogin.account.provider, "channel": "web"},
    )
