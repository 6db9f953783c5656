"""Request parsers that turn every malformed body into a 400, never a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser


def unstorable(text: str) -> bool:
    """A NUL (PostgreSQL text cannot hold it) or a lone surrogate (no UTF-8 encoding)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def refuse_unstorable(data) -> None:
    """ParseError if any key or string value in the parsed body is unstorable (no recursion:
    the parsed body may be nested almost to the recursion limit)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if unstorable(item):
                raise ParseError("The body holds a NUL character or a lone surrogate.")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


class SafeJSONParser(JSONParser):
    """DRF's JSON parser catches ValueError only; a body nested deeper than Python's recursion
    limit ("[[[[...") raises RecursionError, which would surface as a 500. JSON may also escape
    a NUL ("\\u0000") or a lone surrogate ("\\ud800"), which reach PostgreSQL and fail there."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON nested too deeply.") from exc
        refuse_unstorable(data)
        return data


class SafeFormParser(FormParser):
    """A form body may percent-encode a NUL ("%00"); surrogates cannot survive its decoding."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        for key, values in data.lists():
            refuse_unstorable([key, *values])
        return data
