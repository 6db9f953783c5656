"""Account-page actions for the apps that sign in with Warden."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.audit import Caller
from accounts.flows.oidc.access import user_app_revoke


@login_required
@require_POST
def app_access_revoke(request, client_id: str):
    if user_app_revoke(user=request.user, client_id=client_id, caller=Caller.of(request)):
        messages.success(request, "The app's access is removed and its sessions are ended.")
    return redirect("account_overview")
