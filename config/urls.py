"""Top-level routes: pages, admin, API, discovery and health."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as pages
from api import dialects, health, ssf
from api.metrics import metrics_view
from api.oauth import discovery

# A database or Redis outage answers 503 from anywhere, the verify fast path included.
handler500 = "api.unavailable.server_error"
# A body too large (or a request Django refuses) answers JSON on the API's paths.
handler400 = "config.errors.bad_request"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="account_overview", permanent=False)),
    path("accounts/profile/", pages.account_overview, name="account_overview"),
    path("accounts/login/", pages.LoginView.as_view(), name="account_login"),
    # Ahead of allauth's own routes to the same views, which fail (500) without a Google app.
    path("accounts/google/login/", pages.google_login),
    path("accounts/google/login/callback/", pages.google_callback),
    path("accounts/", include("allauth.urls")),
    path("admin/login/", pages.admin_login, name="admin_login"),  # allauth's, with MFA
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("oidc/", include("api.oidc.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the docs page needs no inline JS.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Seed 003's central auth API, where its code calls it (api/dialects.py)
    path("auth/", include((dialects.seed003_urlpatterns, "seed003"))),
    path(".well-known/jwks.json", discovery.JwksApi.as_view(), name="jwks"),
    path(
        ".well-known/openid-configuration",
        discovery.DiscoveryApi.as_view(),
        name="openid-configuration",
    ),
    path(
        ".well-known/oauth-authorization-server",
        discovery.DiscoveryApi.as_view(),
        name="oauth-authorization-server",
    ),
    path(
        ".well-known/ssf-configuration",
        ssf.SsfConfigurationApi.as_view(),
        name="ssf-configuration",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]
