"""Stock SimpleJWT views, a "me" view and a bare view (the floor: Django plus the server)."""

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import (
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


class Me(APIView):
    """What a vanilla SimpleJWT project writes for "who am I": JWTAuthentication loads the user
    (one query), the view answers a few fields. Warden's counterpart is /api/auth/me."""

    permission_classes = (IsAuthenticated,)

    def get(self, request):
        user = request.user
        return Response({"id": user.pk, "username": user.username, "email": user.email})


urlpatterns = [
    path("api/me/", Me.as_view(), name="me"),
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path("bare/", bare, name="bare"),
]
