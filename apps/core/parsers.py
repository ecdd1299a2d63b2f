"""The request parsers every API view uses (REST_FRAMEWORK DEFAULT_PARSER_CLASSES).

A body is hostile input: whatever it holds, parsing ends in data or in a 400 PARSE_ERROR, never in a 500.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far deeper than any request body this API defines; deep enough nesting exhausts the interpreter's stack in the
# parser (RecursionError) or, just below that, in whatever walks the data next (validation, logging, rendering).
MAX_JSON_DEPTH = 32


def _too_deep(data, limit: int) -> bool:
    """True when lists/objects nest more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nesting deeper than {MAX_JSON_DEPTH} levels")
        if _too_deep(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nesting deeper than {MAX_JSON_DEPTH} levels")
        return data
