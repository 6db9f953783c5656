"""Shared Signals transmitter: metadata, a receiver's stream configuration, and its poll."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.events import stream
from accounts.events.outbox import SSF_SCOPE
from api.common import NO_STORE
from api.inputs import validated
from api.permissions import HasScope


def _url(name: str) -> str:
    return settings.WARDEN_ISSUER.rstrip("/") + reverse(name)


class SsfConfigurationApi(APIView):
    """OpenID Shared Signals Framework 1.0 transmitter metadata."""

    authentication_classes = ()
    permission_classes = ()

    @extend_schema(
        responses=inline_serializer("SsfConfiguration", {"issuer": serializers.URLField()})
    )
    def get(self, request):
        return Response(
            {
                "spec_version": "1_0",
                "issuer": settings.WARDEN_ISSUER,
                "jwks_uri": _url("jwks"),
                "delivery_methods_supported": ["urn:ietf:rfc:8936", "urn:ietf:rfc:8935"],
                "configuration_endpoint": _url("api:ssf-stream"),
                "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
            },
            headers={"Cache-Control": "public, max-age=300"},
        )


def _receiver(request):
    receiver = stream.receiver_of(client_id=(request.auth or {}).get("client_id", ""))
    if receiver is None:
        raise PermissionDenied("Only a service client holding ssf:poll reads the feed.")
    return receiver


class StreamConfigurationApi(APIView):
    """The caller's stream: where it polls (or is pushed to) and which events it gets."""

    permission_classes = (HasScope(SSF_SCOPE),)

    @extend_schema(responses=inline_serializer("StreamConfiguration", {"delivery": {}}))
    def get(self, request):
        config = stream.stream_configuration(
            receiver=_receiver(request), poll_url=_url("api:ssf-poll")
        )
        return Response(config, headers=NO_STORE)


class PollInput(serializers.Serializer):
    """RFC 8936 §2.4's request body; every member is optional."""

    ack = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    setErrs = serializers.DictField(child=serializers.DictField(), required=False)  # noqa: N815
    maxEvents = serializers.IntegerField(  # noqa: N815
        min_value=0, max_value=stream.MAX_EVENTS_LIMIT, required=False, default=100
    )
    returnImmediately = serializers.BooleanField(required=False, default=False)  # noqa: N815


class PollApi(APIView):
    """RFC 8936 poll: acknowledge what was received, get the next SETs."""

    permission_classes = (HasScope(SSF_SCOPE),)

    @extend_schema(
        request=PollInput,
        responses=inline_serializer(
            "PollOutput",
            {"sets": serializers.DictField(), "moreAvailable": serializers.BooleanField()},
        ),
    )
    def post(self, request):
        receiver = _receiver(request)
        body = validated(PollInput, request.data)
        sets, more = stream.stream_poll(
            receiver=receiver,
            ack=body.get("ack", ()),
            errors=body.get("setErrs"),
            max_events=body["maxEvents"],
            return_immediately=body["returnImmediately"],
        )
        return Response({"sets": sets, "moreAvailable": more}, headers=NO_STORE)
