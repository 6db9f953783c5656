"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the end_session_endpoint."""

from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import tokens
from accounts.audit import Caller
from accounts.flows.oidc.authorize import AuthorizeRefused, redirect_with
from accounts.flows.oidc.clients import oidc_client_get
from accounts.flows.oidc.logout import id_token_session_end
from api.oidc.authorize import refused_page

PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint")


@never_cache
@require_http_methods(["GET", "POST"])
def end_session(request) -> HttpResponse:
    """Sign out of Warden and the apps signed in from this browser; back to the app if it
    registered where. Without a valid `id_token_hint` for the signed-in user the user confirms
    first (a plain link must not sign anyone out)."""
    source = request.POST if request.method == "POST" else request.GET
    params = {name: source.get(name, "") for name in PARAMS}
    claims = None
    try:
        if params["id_token_hint"]:
            try:
                claims = tokens.idtoken.id_token_hint_claims(params["id_token_hint"])
            except tokens.TokenInvalid as exc:
                raise AuthorizeRefused("invalid_request", "The id_token_hint is invalid.") from exc
        client_id = claims["aud"] if claims else params["client_id"]
        if params["client_id"] and params["client_id"] != client_id:
            raise AuthorizeRefused("invalid_request", "client_id does not match id_token_hint.")
        client = oidc_client_get(client_id) if client_id else None
        target = params["post_logout_redirect_uri"]
        if target and (client is None or target not in client.post_logout_redirect_uris):
            raise AuthorizeRefused("invalid_request", "post_logout_redirect_uri is not registered.")
    except AuthorizeRefused as exc:
        return refused_page(request, exc)
    user = request.user
    hinted = claims is not None and (
        not user.is_authenticated or str(user.public_id) == claims["sub"]
    )
    confirmed = request.method == "POST" and source.get("confirm") == "yes"
    if not (hinted or confirmed):
        app = client.client.name if client else None
        return render(request, "oidc/logout_confirm.html", {"params": params, "app": app})
    caller = Caller.of(request)
    if claims is not None:
        id_token_session_end(claims=claims, caller=caller)
    if user.is_authenticated:
        logout(request)  # its receiver ends every app session signed in from this browser
    if target:
        query = {"state": params["state"]} if params["state"] else {}
        return HttpResponseRedirect(redirect_with(target, query))
    return render(request, "oidc/signed_out.html")
