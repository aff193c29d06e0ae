"""The answers every operation can give, added to the OpenAPI schema in one place.

Each view documents what is particular to it (its success, its 409 codes); the errors that come from the
framework around it — bad input, authentication, the walls, a body too large, too many requests, a database
briefly away — are the same everywhere, so this postprocessing hook adds them to every operation, a new one
included, all with the one `Error` body `{"code", "detail", "fields"?}`. It also describes `/healthz/`, a plain
Django view the generator does not see.
"""

from __future__ import annotations

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: a snake_case `code`, a human `detail`, and `fields` on validation errors "
                   "(some codes add more, e.g. `no_tables`' reasons and alternatives).",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["code", "detail"],
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}

WRITES = {"post", "put", "patch", "delete"}
METHODS = {"get", "head", "options", *WRITES}

# status: (description, applies to the operation?)
STANDARD_ERRORS = {
    "400": ("Bad input (`validation_error` with `fields`, `malformed_json`, `bad_request`).",
            lambda op: bool(op.get("parameters") or op.get("requestBody"))),
    "401": ("Not authenticated, or the credentials sent are not valid.", lambda op: _authenticated(op)),
    "403": ("Not allowed: not this restaurant's staff, not a manager, or a missing CSRF token.",
            lambda op: _authenticated(op)),
    "404": ("Not found, or another restaurant's row.", lambda op: _has_path_parameters(op)),
    # Any change to a row of the book may find it busy or changed under it.
    "409": ("Conflict with the state of the book (e.g. `book_busy`: try again).",
            lambda op: op["_method"] in WRITES and _has_path_parameters(op)),
    "413": ("The request body is larger than this API accepts (`request_too_large`).", lambda op: True),
    "415": ("The body's content type is not one this operation takes.", lambda op: "requestBody" in op),
    "422": ("The Idempotency-Key was used before with another body (`idempotency_key_reused`).",
            lambda op: any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", []))),
    "429": ("Too many requests (`too_many_requests`); `Retry-After` says when to try again.", lambda op: True),
    "503": ("The database is briefly unavailable (`database_unavailable`): nothing was saved; retry after "
            "`Retry-After` seconds.", lambda op: True),
}
WITH_RETRY_AFTER = {"429", "503"}

HEALTHZ = {
    "get": {
        "operationId": "healthz",
        "description": "Is the database answering and taking writes, and the broker (or are tasks run in-process)?",
        "tags": ["healthz"],
        "security": [{}],
        "responses": {
            "200": {"description": "Everything is up.", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Health"}}}},
            "503": {"description": "Something is down; the body names it.", "headers": RETRY_AFTER,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
        },
    },
}
HEALTH_SCHEMA = {
    "type": "object",
    "properties": {
        "database": {"type": "string", "enum": ["ok", "down", "read_only"]},
        "broker": {"type": "string", "enum": ["ok", "eager", "down"]},
    },
    "required": ["database", "broker"],
}


def _authenticated(op: dict) -> bool:
    """Does the operation read credentials at all (a token or a session)? Twilio's webhooks do not."""
    return any(requirement for requirement in op.get("security", []))


def _has_path_parameters(op: dict) -> bool:
    return any(p.get("in") == "path" for p in op.get("parameters", []))


def add_standard_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("Health", HEALTH_SCHEMA)
    for operations in result.get("paths", {}).values():
        shared = operations.get("parameters", [])
        for method, op in operations.items():
            if method not in METHODS:
                continue
            view = {**op, "_method": method, "parameters": [*shared, *op.get("parameters", [])]}
            responses = op.setdefault("responses", {})
            for status, (description, applies) in STANDARD_ERRORS.items():
                if status in responses or not applies(view):
                    continue
                responses[status] = {"description": description, "content": {"application/json": {
                    "schema": ERROR_REF}}}
            for status in WITH_RETRY_AFTER:
                responses[status].setdefault("headers", {}).update(RETRY_AFTER)
    result.setdefault("paths", {}).setdefault("/healthz/", HEALTHZ)
    return result
