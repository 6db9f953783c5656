"""Content-Security-Policy for HTML responses.

Django 5.2 has no built-in CSP (6.0 adds one). django-csp would do, but we need one strict
policy for our pages and a looser style rule for the admin and Swagger UI, which set inline
style attributes; a path-prefix table here says that plainly.
"""

from django.conf import settings


def build_policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}".strip() for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        strict = settings.CONTENT_SECURITY_POLICY
        relaxed = {**strict, "style-src": ["'self'", "'unsafe-inline'"]}
        self.strict = build_policy(strict)
        self.relaxed = build_policy(relaxed)
        self.relaxed_prefixes = tuple(settings.CONTENT_SECURITY_POLICY_RELAXED_STYLE_PATHS)

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            relaxed = request.path.startswith(self.relaxed_prefixes)
            response.setdefault("Content-Security-Policy", self.relaxed if relaxed else self.strict)
        return response
