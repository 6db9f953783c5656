"""The OpenAPI generator, which also lists the plain verify view (api/verify.py says why)."""

import functools

from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

from api import verify


@functools.cache
def _verify_description():
    return verify.VerifyDescription.as_view()


def _described(callback):
    """The DRF view that describes a plain Django view to the schema, if it has one."""
    return _verify_description() if callback is verify.verify else callback


class WardenEndpointEnumerator(EndpointEnumerator):
    """Lists the plain verify view (api/verify.py says why it skips DRF) by its description."""

    def should_include_endpoint(self, path, callback):
        return super().should_include_endpoint(path, _described(callback))

    def get_allowed_methods(self, callback):
        return super().get_allowed_methods(_described(callback))


class WardenSchemaGenerator(SchemaGenerator):
    endpoint_inspector_cls = WardenEndpointEnumerator

    def create_view(self, callback, method, request=None):
        return super().create_view(_described(callback), method, request)
