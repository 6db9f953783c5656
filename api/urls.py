"""Routes under /api/."""

from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("auth/token", views.TokenApi.as_view(), name="token"),
    path("auth/login", views.LoginApi.as_view(), name="login"),
    path("auth/google", views.GoogleLoginApi.as_view(), name="google"),
    path("auth/login/mfa", views.MfaLoginApi.as_view(), name="login-mfa"),
    path("auth/refresh", views.RefreshApi.as_view(), name="refresh"),
    path("auth/logout", views.LogoutApi.as_view(), name="logout"),
    path("auth/verify", views.VerifyApi.as_view(), name="verify"),
    path("auth/introspect", views.IntrospectApi.as_view(), name="introspect"),
    path("auth/revoke", views.RevokeApi.as_view(), name="revoke"),
    path("auth/me", views.MeApi.as_view(), name="me"),
    path("auth/sessions", views.SessionListApi.as_view(), name="sessions"),
    path("auth/sessions/<uuid:session_id>", views.SessionDetailApi.as_view(), name="session"),
    path("admin/users", views.AdminUserListApi.as_view(), name="admin-users"),
]
