"""handler400: a request Django itself refuses (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many
fields, a bad Host) answers the API's JSON error shape on the API's paths, not an HTML page."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults

from api.unavailable import wants_json


def bad_request(request, exception, *args, **kwargs):
    if not wants_json(request):
        return defaults.bad_request(request, exception, *args, **kwargs)
    if isinstance(exception, RequestDataTooBig):
        description = "The request body is too large."
    else:
        description = "The request could not be read."
    body = {"error": "invalid_request", "error_description": description}
    return JsonResponse(body, status=400, headers={"Cache-Control": "no-store"})
