"""The signed-in user's profile and sessions, and the admin's list of users."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.flows.sessions import session_revoke
from accounts.models import AuthSession, User
from api.common import NO_STORE, caller_of
from api.permissions import HasRole, IsEndUser


class MeApi(APIView):
    permission_classes = (IsAuthenticated, IsEndUser)

    @extend_schema(
        responses=inline_serializer(
            "Profile",
            {
                "sub": serializers.UUIDField(),
                "email": serializers.EmailField(),
                "first_name": serializers.CharField(),
                "last_name": serializers.CharField(),
                "roles": serializers.ListField(child=serializers.CharField()),
                "date_joined": serializers.DateTimeField(),
                "connected_accounts": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request):
        return Response(selectors.user_profile(user=request.user), headers=NO_STORE)


class SessionOutput(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = AuthSession
        fields = (
            "id",
            "method",
            "created_at",
            "last_used_at",
            "expires_at",
            "ip",
            "user_agent",
            "current",
        )

    def get_current(self, obj: AuthSession) -> bool:
        return str(obj.id) == self.context.get("sid")


class SessionListApi(APIView):
    permission_classes = (IsAuthenticated, IsEndUser)

    @extend_schema(responses=SessionOutput(many=True))
    def get(self, request):
        sessions = selectors.user_live_sessions(user=request.user)
        data = SessionOutput(sessions, many=True, context={"sid": request.auth["sid"]}).data
        return Response(data)


class SessionDetailApi(APIView):
    permission_classes = (IsAuthenticated, IsEndUser)

    @extend_schema(responses={204: None, 404: None})
    def delete(self, request, session_id):
        session = generics.get_object_or_404(AuthSession, pk=session_id, user=request.user)
        session_revoke(session=session, reason="user", caller=caller_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdminUserOutput(serializers.ModelSerializer):
    sub = serializers.UUIDField(source="public_id")
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("sub", "email", "first_name", "last_name", "roles", "is_active", "date_joined")

    def get_roles(self, obj: User) -> list[str]:
        return obj.role_names


class AdminUserListApi(generics.ListAPIView):
    """Every user, for callers with the `admin` role."""

    permission_classes = (IsAuthenticated, HasRole("admin"))
    serializer_class = AdminUserOutput
    queryset = User.objects.prefetch_related("groups").order_by("email")
