"""Password hooks: a changed password ends every API session of its user."""


class EndSessionsOnPasswordChange:
    """Not a rule about passwords: Django calls `password_changed` on every validator after a
    real change (allauth's change/set/reset pages, the admin's form, `set_password` + `save`)
    and never after a hash upgrade at sign-in, which is exactly when sessions must end: whoever
    stole the old password keeps no refresh token."""

    def validate(self, password: str, user=None) -> None:
        return None

    def password_changed(self, password: str, user=None) -> None:
        if user is not None and user.pk is not None:
            from accounts.flows.sessions import user_sessions_revoke_all

            user_sessions_revoke_all(user=user, reason="password_changed")

    def get_help_text(self) -> str:
        return "Changing your password signs you out of every app that uses your account."
