"""Stock SimpleJWT views and a bare view (the floor: Django plus the server, no work)."""

from django.http import HttpResponse
from django.urls import path
from rest_framework_simplejwt.views import (
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("bare/", bare, name="bare"),
]
