"""Request parameters as serializers: what they validate is what the OpenAPI schema states."""

from __future__ import annotations

import functools

from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import ProhibitSurrogateCharactersValidator, empty

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
    nested = isinstance(problems, dict)  # a list item's or a member's: {index or key: [...]}
    while isinstance(problems, dict):
        problems = next(iter(problems.values()), [])
    codes = {getattr(problem, "code", "") for problem in problems}
    if not nested and ("required" in codes or "null" in codes or "blank" in codes):
        return f"The {name!r} parameter is required."
    return f"The {name!r} parameter is invalid: {problems[0] if problems else ''}"


def validated(serializer: type[serializers.Serializer], data) -> dict:
    """The parameters `serializer` declares, or invalid_request naming the first bad one."""
    plain = _plain_values(serializer, data)
    if plain is not None:
        return plain
    checked = serializer(data=data)
    if not checked.is_valid():
        raise errors.invalid_request(_description(checked.errors))
    return dict(checked.validated_data)


# --- The same answer without DRF, when it is plain -----------------------------------------------
# A DRF serializer costs ~30 us a field per call (it deep-copies its fields each time), and the
# token endpoint runs three per request. Bodies are nearly always plain: ASCII strings within
# bounds, required ones present. Those are read here; anything else (a missing or blank
# required parameter, a non-string, non-ASCII, a NUL, too long, an unknown choice) goes to the
# serializer, so every refusal and its wording stay DRF's own (tests/api/test_inputs.py).

_PLAIN_VALIDATORS = [
    MaxLengthValidator,
    ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
]


@functools.cache
def _plain_fields(serializer: type[serializers.Serializer]) -> tuple | None:
    """(name, required, max_length, choices) per field, for a serializer that declares only
    Params and string choices and validates nothing of its own; None: leave it to DRF."""
    base = serializers.Serializer
    if hasattr(serializer, "Meta") or any(
        getattr(serializer, name) is not getattr(base, name)
        for name in ("validate", "to_internal_value", "run_validation", "run_validators")
    ):
        return None
    fields = []
    for name, field in serializer._declared_fields.items():
        if hasattr(serializer, f"validate_{name}") or field.read_only:
            return None
        if field.source not in (None, name) or field.default is not empty:
            return None
        if type(field) is Param:
            plain = (
                not field.trim_whitespace
                and field.min_length is None
                and [type(v) for v in field.validators] == _PLAIN_VALIDATORS
                and (field.required or (field.allow_blank and field.allow_null))
            )
            choices = None
        elif type(field) is serializers.ChoiceField:
            plain = not field.allow_blank and not field.validators
            choices = frozenset(field.choices)
            plain = plain and all(
                type(c) is str and field.choice_strings_to_values[c] == c for c in choices
            )
        else:
            return None
        if not plain:
            return None
        fields.append((name, field.required, getattr(field, "max_length", None), choices))
    return tuple(fields)


def _plain_values(serializer: type[serializers.Serializer], data) -> dict | None:
    """What the serializer would return for a plain body, or None: ask the serializer."""
    if type(data) is not dict and not isinstance(data, QueryDict):
        return None
    fields = _plain_fields(serializer)
    if fields is None:
        return None
    out = {}
    for name, required, max_length, choices in fields:
        if name not in data:
            if required:
                return None
            continue
        value = data[name]  # a form's repeated parameter: its last value, as DRF reads it
        if type(value) is not str or not value.isascii() or "\x00" in value:
            return None
        if choices is not None:
            if value not in choices:
                return None
        elif value == "":
            if required:
                return None
        elif len(value) > max_length:
            return None
        out[name] = value
    return out


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
