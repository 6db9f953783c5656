"""Routes under /api/, grouped by who calls them."""

from django.urls import path

from api import auth, dialects, ssf, users, verify
from api.oauth import introspection, token

app_name = "api"

urlpatterns = [
    # OAuth 2.0 (RFC 6749, 7662, 7009)
    path("auth/token", token.TokenApi.as_view(), name="token"),
    path("auth/introspect", introspection.IntrospectApi.as_view(), name="introspect"),
    path("auth/revoke", introspection.RevokeApi.as_view(), name="revoke"),
    # First-party sign-in
    path("auth/login", auth.LoginApi.as_view(), name="login"),
    path("auth/google", auth.GoogleLoginApi.as_view(), name="google"),
    path("auth/login/mfa", auth.MfaLoginApi.as_view(), name="login-mfa"),
    path("auth/refresh", auth.RefreshApi.as_view(), name="refresh"),
    path("auth/logout", auth.LogoutApi.as_view(), name="logout"),
    # Gateways and services
    path("auth/verify", verify.verify, name="verify"),
    # The seed documents' paths (api/dialects.py)
    path("auth/token/refresh", dialects.TokenRefreshApi.as_view(), name="seed000-refresh"),
    path("auth/validate", dialects.ValidateApi.as_view(), name="seed002-validate"),
    # The signed-in user, and admins
    path("auth/me", users.MeApi.as_view(), name="me"),
    path("auth/sessions", users.SessionListApi.as_view(), name="sessions"),
    path("auth/sessions/<uuid:session_id>", users.SessionDetailApi.as_view(), name="session"),
    path("admin/users", users.AdminUserListApi.as_view(), name="admin-users"),
    # Revocation events for receivers (Shared Signals; RFC 8936 poll)
    path("ssf/stream", ssf.StreamConfigurationApi.as_view(), name="ssf-stream"),
    path("ssf/poll", ssf.PollApi.as_view(), name="ssf-poll"),
]
