"""Routes under /oidc/: Warden as an OpenID Provider."""

from django.urls import path

from api.oidc import authorize, endpoints, logout, pages, userinfo

app_name = "oidc"

urlpatterns = [
    path("authorize", authorize.authorize, name="authorize"),
    path("authorize/consent", authorize.consent, name="consent"),
    path("userinfo", userinfo.UserInfoApi.as_view(), name="userinfo"),
    path("logout", logout.end_session, name="end-session"),
    path("device", pages.device, name="device"),
    path(
        "device_authorization",
        endpoints.DeviceAuthorizationApi.as_view(),
        name="device-authorization",
    ),
    path("par", endpoints.PushedAuthorizationApi.as_view(), name="par"),
    path("register", endpoints.RegistrationApi.as_view(), name="register"),
    path("apps/<str:client_id>/revoke", pages.app_access_revoke, name="app-revoke"),
]
