"""Content-Security-Policy for HTML responses.

Django 5.2 has no built-in CSP (6.0 adds one). django-csp would do, but we need one strict
policy for our pages and a looser style rule for the admin and Swagger UI, which set inline
style attributes; a path-prefix table here says that plainly.

`form-action` also lists the origins of the OpenID apps' registered redirect URIs: Chromium
applies form-action to the redirects that follow a form POST, so the sign-in and consent forms'
final redirect back to an app would be blocked otherwise. They are read per HTML response from
a cache that any client change clears (accounts/flows/oidc/clients.py). A view may let one
page show images from other origins (`response.csp_img_origins`: the consent page's app logo).
"""

from django.conf import settings

from accounts.flows.oidc.clients import redirect_origins
from accounts.outages import BACKEND_ERRORS


def build_policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}".strip() for name, values in directives.items())


def _app_origins() -> list[str]:
    try:
        return redirect_origins()
    except BACKEND_ERRORS:  # the 503 page of an outage still gets its policy, minus the apps
        return []


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.strict = settings.CONTENT_SECURITY_POLICY
        self.relaxed = {**self.strict, "style-src": ["'self'", "'unsafe-inline'"]}
        self.relaxed_prefixes = tuple(settings.CONTENT_SECURITY_POLICY_RELAXED_STYLE_PATHS)

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            relaxed = request.path.startswith(self.relaxed_prefixes)
            directives = self.relaxed if relaxed else self.strict
            apps = [o for o in _app_origins() if o not in directives["form-action"]]
            if apps:
                directives = {**directives, "form-action": [*directives["form-action"], *apps]}
            images = getattr(response, "csp_img_origins", ())  # set by a view for its page
            if images:
                directives = {**directives, "img-src": [*directives["img-src"], *images]}
            response.setdefault("Content-Security-Policy", build_policy(directives))
        return response
