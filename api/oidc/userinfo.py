"""The UserInfo endpoint (OpenID Connect Core §5.3): the claims an app's access token allows."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.flows.oidc.codes import user_claims
from api.authentication import WardenTokenAuthentication
from oidc.models import OidcSession

UserInfoOutput = inline_serializer(
    "UserInfo",
    {
        "sub": serializers.CharField(),
        "email": serializers.EmailField(required=False),
        "email_verified": serializers.BooleanField(required=False),
        "name": serializers.CharField(required=False),
        "given_name": serializers.CharField(required=False),
        "family_name": serializers.CharField(required=False),
        "roles": serializers.ListField(child=serializers.CharField(), required=False),
    },
)


USERINFO_SCHEMA = extend_schema(
    request=None,
    responses={
        200: UserInfoOutput,
        401: OpenApiResponse(description="No or a bad access token"),
        403: OpenApiResponse(description="insufficient_scope: not an `openid` sign-in"),
    },
)


class UserInfoApi(APIView):
    """GET or POST with `Authorization: Bearer <access token>` from an OpenID sign-in."""

    authentication_classes = (WardenTokenAuthentication,)
    permission_classes = ()

    @USERINFO_SCHEMA
    def get(self, request):
        if request.auth is None:
            raise NotAuthenticated()
        info = OidcSession.objects.filter(session_id=request.auth.get("sid")).first()
        scopes = info.scope.split() if info else []
        if "openid" not in scopes:
            raise PermissionDenied("insufficient_scope: this token is not from an openid sign-in")
        return Response(
            user_claims(user=request.user, scopes=scopes), headers={"Cache-Control": "no-store"}
        )

    @USERINFO_SCHEMA
    def post(self, request):
        return self.get(request)
