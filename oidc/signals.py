"""Receivers: a Warden session's end reaches the apps; client edits refresh the CSP origins."""

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.flows import sessions
from accounts.flows.oidc import clients, logout
from oidc.models import OidcClient


@receiver(sessions.session_ended)
def tell_the_app(sender, session, **kwargs) -> None:
    logout.backchannel_logout_schedule(session=session)


@receiver(user_logged_out)
def end_the_apps_sessions(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        logout.browser_sessions_end(request=request, user=user)


@receiver(post_save, sender=OidcClient)
@receiver(post_delete, sender=OidcClient)
def forget_redirect_origins(sender, **kwargs) -> None:
    clients.redirect_origins_forget()
