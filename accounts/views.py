"""Server-rendered account pages that allauth does not provide."""

import functools
import logging
from urllib.parse import urlencode

from allauth.account import views as allauth_views
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.google import views as google_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import MultipleObjectsReturned
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import selectors
from accounts.flows.oidc.access import user_apps


@login_required
def account_overview(request):
    context = {
        "profile": selectors.user_profile(user=request.user),
        "sessions": selectors.user_live_sessions(user=request.user)[:20],
        "apps": user_apps(user=request.user),
    }
    return render(request, "accounts/overview.html", context)


class LoginView(allauth_views.LoginView):
    """allauth's sign-in page, answering 429 with Retry-After while the account is locked,
    and filled in with the email an app named (OpenID `login_hint`)."""

    def get_initial(self):
        initial = super().get_initial()
        hint = self.request.GET.get("login_hint", "")
        if hint and "@" in hint and len(hint) <= 254:
            initial["login"] = hint
        return initial

    def form_invalid(self, form):
        response = super().form_invalid(form)
        locked = any(
            error.code == "too_many_login_attempts"
            for errors in form.errors.as_data().values()
            for error in errors
        )
        if locked:
            response.status_code = 429
            response["Retry-After"] = str(settings.WARDEN_LOGIN_ATTEMPTS_TIMEOUT)
        return response


def admin_login(request):
    """The admin's sign-in is allauth's, so a user with a second factor is asked for it.

    Django's own admin login form would accept the password alone; it is never served.
    """
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect(target)
        # allauth would bounce a signed-in user straight back here: say why instead of looping.
        messages.error(request, "Your account does not have access to the admin site.")
        return redirect("account_overview")
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")


def _when_google_is_configured(view):
    """allauth raises (a 500) when Google has no app; not configured is "no such page" (404)."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        try:
            get_social_adapter(request).get_app(request, provider="google")
        except SocialApp.DoesNotExist as exc:
            raise Http404("Sign in with Google is not configured.") from exc
        except MultipleObjectsReturned as exc:
            # allauth cannot tell which of several apps to use; say so to the operator.
            logging.getLogger(__name__).warning("Several Google apps are configured; use one.")
            raise Http404("Sign in with Google is not configured.") from exc
        return view(request, *args, **kwargs)

    return guarded


google_login = _when_google_is_configured(google_views.oauth2_login)
google_callback = _when_google_is_configured(google_views.oauth2_callback)
