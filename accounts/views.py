"""Server-rendered account pages that allauth does not provide."""

from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts import selectors


@login_required
def account_overview(request):
    context = {
        "profile": selectors.user_profile(user=request.user),
        "sessions": selectors.user_live_sessions(user=request.user)[:20],
    }
    return render(request, "accounts/overview.html", context)


class LoginView(allauth_views.LoginView):
    """allauth's sign-in page, answering 429 with Retry-After while the account is locked."""

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
