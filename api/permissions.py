"""Role and scope checks, read from the verified token's claims."""

from rest_framework.permissions import BasePermission


def HasRole(role: str) -> type[BasePermission]:  # noqa: N802 - reads as a class in views
    """Allow callers whose token carries `role` in `roles`."""
    return type(
        f"HasRole_{role}",
        (BasePermission,),
        {
            "has_permission": lambda self, request, view: (
                role in (request.auth or {}).get("roles", ())
            ),
        },
    )


def HasScope(scope: str) -> type[BasePermission]:  # noqa: N802
    """Allow callers whose token carries `scope` in `scope`."""
    return type(
        f"HasScope_{scope}",
        (BasePermission,),
        {
            "has_permission": lambda self, request, view: (
                scope in (request.auth or {}).get("scope", "").split()
            ),
        },
    )


class IsEndUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.auth) and "sid" in request.auth
