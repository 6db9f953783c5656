"""Server-rendered account pages that allauth does not provide."""

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
