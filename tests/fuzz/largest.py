"""The largest body each operation accepts, built from the OpenAPI schema's own limits (maxLength, maxItems), so
a new operation or field is covered without more work.

Every object gets all its properties, every list its maxItems (each item distinct, so no de-duplication makes it
smaller), every free string its maxLength. A string the schema types but does not bound (a date, a phone) gets a
valid value of its kind, so the body gets past validation to the work it causes. A list or string with no limit
in the schema is filled to UNBOUNDED_BYTES instead: that is what the API accepts of it (the upload cap is
2.5 MB; one megabyte keeps a failing run short).
"""

from __future__ import annotations

from datetime import date

from tests.conftest import at

UNBOUNDED_BYTES = 1_000_000
# Values of strings whose kind the schema does not say, by property name: a real phone, a bookable start.
PHONE = "+380671234567"


def unbounded(document: dict) -> list[str]:
    """Every string and list a request body may carry without a limit in the schema, as `METHOD path: field`."""
    found = []
    for path, method, operation in body_operations(document):
        for ct, content in operation["requestBody"]["content"].items():
            operation_name = f"{method.upper()} {path} ({ct})"
            _walk(document, content["schema"], "", lambda where, what, op=operation_name: found.append(
                f"{op}: {where or 'body'} {what}"))
    return found


def body_operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch") and operation.get("requestBody"):
                yield path, method, operation


def _deref(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _walk(document, schema, where, report) -> None:
    schema = _deref(document, schema)
    for part in schema.get("allOf", []):
        _walk(document, part, where, report)
    kind = schema.get("type")
    if kind == "array":
        if "maxItems" not in schema:
            report(where, "has no maxItems")
        _walk(document, schema.get("items", {}), f"{where}[]", report)
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            _walk(document, sub, f"{where}.{name}", report)
        if schema.get("additionalProperties") not in (None, False):
            report(where, "takes any property")
    elif kind == "string" and "enum" not in schema and "maxLength" not in schema and schema.get("format") not in (
        "date", "date-time"
    ):
        report(where, "has no maxLength")


def largest_body(document: dict, schema: dict, *, day: date, choose: dict | None = None) -> object:
    """The largest value `schema` allows; `choose` names values to use for given property names."""
    return _largest(document, schema, name="", day=day, choose=choose or {}, salt="")


def _largest(document, schema, *, name, day, choose, salt):
    schema = _deref(document, schema)
    if name in choose:
        return choose[name]
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            merged.update(_deref(document, part))
        schema = merged
    if "enum" in schema:
        values = [v for v in schema["enum"] if v not in (None, "")]
        return values[0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: _largest(document, sub, name=key, day=day, choose=choose, salt=salt)
                for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        item = schema.get("items", {})
        if "maxItems" in schema:
            count = schema["maxItems"]
        else:  # as many as fit in the bytes an unbounded list is given
            one = repr(_largest(document, item, name=name, day=day, choose=choose, salt="#0000000"))
            count = UNBOUNDED_BYTES // len(one)
        return [_largest(document, item, name=name, day=day, choose=choose, salt=f"#{i}") for i in range(count)]
    if kind == "integer":
        return min(schema.get("maximum", 2), 2)  # a size, not a magnitude: "largest" is about bytes
    if kind == "boolean":
        return False
    if kind == "number":
        return 1
    if kind == "string":
        if schema.get("format") == "date-time" or name == "start":
            return at(day, "19:00")
        if schema.get("format") == "date":
            return day.isoformat()
        if "phone" in name.lower() or name == "From":
            return PHONE
        limit = schema.get("maxLength", UNBOUNDED_BYTES)
        text = f"{salt}{name}" if salt else name or "x"
        return (text + "x" * limit)[:limit]
    return None
