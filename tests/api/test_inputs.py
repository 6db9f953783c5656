"""validated() reads plain bodies without DRF: the same values, and DRF's own refusals."""

import pytest
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from accounts import errors
from api import inputs
from api.inputs import MAX_PARAM, ClientAuthInput, Param, validated


def all_input_serializers() -> list[type[serializers.Serializer]]:
    """Every serializer the API modules declare (the URLconf imports them all)."""
    import config.urls  # noqa: F401

    found, pending = [], [serializers.Serializer]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("api.") and getattr(cls, "_declared_fields", None):
            found.append(cls)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def drf(serializer, data) -> dict | str:
    """What the serializer itself answers: its values, or the invalid_request description."""
    checked = serializer(data=data)
    if not checked.is_valid():
        try:
            return "invalid_request: " + inputs._description(checked.errors)
        except Exception as exc:  # the same crash either way is still the same answer
            return f"raised {type(exc).__name__}"
    return dict(checked.validated_data)


def answer(serializer, data) -> dict | str:
    try:
        return validated(serializer, data)
    except errors.AuthError as exc:
        assert exc.error == "invalid_request"
        return "invalid_request: " + exc.description
    except Exception as exc:
        return f"raised {type(exc).__name__}"


def field_names(serializer) -> list[str]:
    return list(serializer._declared_fields)


def choices_of(serializer) -> list[str]:
    return [
        str(choice)
        for field in serializer._declared_fields.values()
        if isinstance(field, serializers.ChoiceField)
        for choice in field.choices
    ]


SERIALIZERS = all_input_serializers()
VALUES = st.one_of(
    st.sampled_from(["", "x", "client_credentials", "a b", " padded ", "0" * MAX_PARAM]),
    st.sampled_from(["0" * (MAX_PARAM + 1), "a\x00b", "caf\u00e9", "\ud800", "x" * 256]),
    st.text(max_size=12),
    st.none(),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=1),
)


@st.composite
def bodies(draw, serializer):
    names = [*field_names(serializer), "grant_type", "extra"]
    picked = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    values = st.one_of(VALUES, st.sampled_from(choices_of(serializer) or ["x"]))
    body = {name: draw(values) for name in picked}
    if draw(st.booleans()):
        return body
    form = QueryDict(mutable=True)
    for name, value in body.items():
        if isinstance(value, str):  # a form holds strings only, maybe repeated
            form.setlist(name, [value, *draw(st.lists(st.sampled_from(["", "y"]), max_size=1))])
    return form


def test_the_token_endpoint_inputs_take_the_plain_path():
    from api.oauth import token

    for serializer in (
        ClientAuthInput,
        token.GrantInput,
        token.ClientCredentialsGrantInput,
        token.PasswordGrantInput,
        token.RefreshGrantInput,
    ):
        assert inputs._plain_fields(serializer) is not None, serializer


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=lambda cls: cls.__qualname__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_validated_answers_exactly_as_drf_for_every_input_serializer(serializer, data):
    body = data.draw(bodies(serializer))
    assert answer(serializer, body) == drf(serializer, body)


@pytest.mark.parametrize("body", [[], "grant_type=x", None, 3])
def test_a_body_that_is_not_an_object_is_refused_as_before(body):
    assert answer(ClientAuthInput, body) == drf(ClientAuthInput, body)


def test_a_serializer_with_its_own_validation_is_left_to_drf():
    class Checked(serializers.Serializer):
        name = Param()

        def validate_name(self, value):
            raise serializers.ValidationError("never")

    assert inputs._plain_fields(Checked) is None
    assert answer(Checked, {"name": "x"}).startswith("invalid_request: The 'name' parameter")


@pytest.mark.parametrize(
    "body",
    [{"ack": ["ok", "x" * 65]}, {"ack": [""]}, {"setErrs": {"jti": 3}}],
    ids=["second-item-too-long", "blank-item", "member-not-an-object"],
)
def test_a_bad_item_of_a_list_or_member_of_an_object_is_named_not_a_500(body):
    from api.ssf import PollInput

    with pytest.raises(errors.AuthError) as refused:
        validated(PollInput, body)
    name = next(iter(body))
    assert refused.value.error == "invalid_request"
    assert refused.value.description.startswith(f"The {name!r} parameter is invalid: ")
    assert "ErrorDetail" not in refused.value.description
