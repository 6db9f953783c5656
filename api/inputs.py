"""Request parameters as serializers: what they validate is what the OpenAPI schema states."""

from __future__ import annotations

from rest_framework import serializers

from accounts import errors

MAX_PARAM = 8192


class Param(serializers.CharField):
    """One string parameter of a form or JSON body: never a list, number or object.

    DRF's CharField also turns numbers into strings; a parameter of an auth endpoint that is
    not a string is a client bug worth naming. It refuses NUL and lone surrogates, which the
    database would refuse with a 500. An empty optional parameter counts as absent (RFC 6749
    §3.1: "parameters sent without a value MUST be treated as if they were omitted").
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", MAX_PARAM)
        kwargs.setdefault("trim_whitespace", False)
        if kwargs.get("required") is False:
            kwargs.setdefault("allow_blank", True)
            kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data) or None


def _description(errors_by_field) -> str:
    if not isinstance(errors_by_field, dict):
        return "The body must be a JSON object or a form."
    name, problems = next(iter(errors_by_field.items()))
    if name == "non_field_errors":
        return "The body must be a JSON object or a form."
    codes = {getattr(problem, "code", "") for problem in problems}
    if "required" in codes or "null" in codes or "blank" in codes:
        return f"The {name!r} parameter is required."
    return f"The {name!r} parameter is invalid: {problems[0]}"


def validated(serializer: type[serializers.Serializer], data) -> dict:
    """The parameters `serializer` declares, or invalid_request naming the first bad one."""
    checked = serializer(data=data)
    if not checked.is_valid():
        raise errors.invalid_request(_description(checked.errors))
    return dict(checked.validated_data)


class ClientAuthInput(serializers.Serializer):
    """Client authentication in the body (RFC 6749 §2.3.1), for clients that cannot send Basic."""

    client_id = Param(required=False)
    client_secret = Param(required=False)
    client_assertion_type = Param(
        required=False,
        help_text="RFC 7523 private_key_jwt: "
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )
    client_assertion = Param(
        required=False,
        help_text="A JWT the client signed: iss = sub = client_id, aud = the token endpoint, "
        "jti used once, exp at most five minutes ahead.",
    )


class TokenHintInput(serializers.Serializer):
    """RFC 7662 and RFC 7009 take the same body."""

    token = Param()
    token_type_hint = Param(required=False)


class RefreshInput(serializers.Serializer):
    refresh_token = Param()
