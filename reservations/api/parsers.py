"""The API's JSON parser: DRF's, refusing bodies nested deeper than any request of ours needs."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Our deepest request is {"guest": {"name": ...}} or {"override": {"reason": ...}}: three levels. Anything
# far deeper is an attack or a bug, and letting it through invites a RecursionError wherever it is walked.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted."


def json_depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without recursing."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The standard decoder gives up on ~1,000 levels by running out of stack, not with a ValueError.
            raise ParseError(TOO_DEEP) from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        return data
