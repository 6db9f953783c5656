"""The authorization endpoint (code flow only) and its consent form.

A plain Django view: it answers with redirects and pages, not JSON. The sign-in is Warden's
own page (allauth's, with Google and second factors); a browser already signed in to Warden
is not asked again.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.audit import Caller
from accounts.flows.oidc import authorize as flow


def refused_page(request, exc: flow.AuthorizeRefused) -> HttpResponse:
    """An error the app cannot be told about (unknown client, unregistered redirect_uri)."""
    context = {"error": exc.error, "description": exc.description}
    return render(request, "oidc/error.html", context, status=400)


def _refused(request, exc: flow.AuthorizeRefused) -> HttpResponse:
    if exc.redirect_uri:
        return HttpResponseRedirect(exc.redirect_url())
    return refused_page(request, exc)


def _sign_in(request, req: flow.AuthorizationRequest) -> HttpResponse:
    query = {"next": request.get_full_path()}
    if req.login_hint:
        query["login_hint"] = req.login_hint
    return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode(query)}")


def _authorize(request, params, *, consented: bool = False) -> HttpResponse:
    try:
        req = flow.authorization_request_parse(params=params)
    except flow.AuthorizeRefused as exc:
        return _refused(request, exc)
    user = request.user
    if not user.is_authenticated:
        if "none" in req.prompt:
            return HttpResponseRedirect(
                req.refuse("login_required", "Sign in first.").redirect_url()
            )
        return _sign_in(request, req)
    if flow.reauthentication_due(request=request, req=req, user=user):
        if "none" in req.prompt:
            refusal = req.refuse("login_required", "Signing in again is required.")
            return HttpResponseRedirect(refusal.redirect_url())
        flow.reauthentication_ask(request=request)
        if user.has_usable_password():
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('account_reauthenticate')}?{query}")
        logout(request)  # no password to ask for again: a fresh sign-in (Google) instead
        flow.reauthentication_ask(request=request)
        return _sign_in(request, req)
    if not consented and flow.consent_due(user=user, req=req):
        if "none" in req.prompt:
            refusal = req.refuse("consent_required", "The user has not allowed this app yet.")
            return HttpResponseRedirect(refusal.redirect_url())
        page = render(
            request,
            "oidc/consent.html",
            {"client": req.client, "scopes": req.scopes, "params": req.params},
        )
        logo = urlsplit(req.client.logo_uri or "")
        if logo.scheme == "https" and logo.netloc:
            # The app's logo is served from its own origin: only this page lets it in.
            page.csp_img_origins = [f"https://{logo.netloc}"]
        return page
    return HttpResponseRedirect(flow.authorization_code_issue(request=request, req=req, user=user))


@never_cache
@require_GET
def authorize(request) -> HttpResponse:
    return _authorize(request, request.GET)


@never_cache
@require_POST
def consent(request) -> HttpResponse:
    """The consent form's answer (CSRF-checked): allow issues the code, deny tells the app."""
    params = request.POST.copy()
    decision = params.pop("decision", [""])[0]
    params.pop("csrfmiddlewaretoken", None)
    try:
        req = flow.authorization_request_parse(params=params)
    except flow.AuthorizeRefused as exc:
        return _refused(request, exc)
    if not request.user.is_authenticated:
        return _sign_in(request, req)
    if decision != "allow":
        return HttpResponseRedirect(req.refuse("access_denied", "The user said no.").redirect_url())
    flow.consent_record(user=request.user, req=req, caller=Caller.of(request))
    return _authorize(request, params, consented=True)
