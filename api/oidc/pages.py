"""Warden pages for the apps: removing an app's access, approving a device's code."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.audit import Caller
from accounts.flows.oidc import device as device_flow
from accounts.flows.oidc.access import user_app_revoke


@login_required
@require_POST
def app_access_revoke(request, client_id: str):
    if user_app_revoke(user=request.user, client_id=client_id, caller=Caller.of(request)):
        messages.success(request, "The app's access is removed and its sessions are ended.")
    return redirect("account_overview")


@login_required
def device(request):
    """RFC 8628's verification page: type (or follow a link with) the code, then allow."""
    code = request.POST.get("user_code") or request.GET.get("user_code", "")
    row = device_flow.device_authorization_pending(user_code=code) if code else None
    if request.method == "POST" and row is not None and request.POST.get("decision"):
        allow = request.POST["decision"] == "allow"
        device_flow.device_authorization_decide(
            request=request, row=row, user=request.user, allow=allow
        )
        done = "allowed" if allow else "denied"
        return render(request, "oidc/device.html", {"done": done, "app": row.client.name})
    context = {"code": device_flow.user_code_normalize(code) if code else "", "row": row}
    if code and row is None:
        context["error"] = "That code is unknown or has expired."
    return render(request, "oidc/device.html", context)
