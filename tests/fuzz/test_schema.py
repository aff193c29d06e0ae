"""The OpenAPI schema describes the whole contract, and every answer the framework can give on each operation
(reservations/api/schema.py), so that Schemathesis (test_schemathesis.py) holds the code to all of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.contract import NOT_BUILT_YET

pytestmark = pytest.mark.django_db

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "API.md"
METHODS = ("get", "post", "put", "patch", "delete")
# The schema and its page are the document itself, not operations in it.
THE_DOCUMENT = {"/api/schema/", "/api/docs/"}


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def contract_operations() -> set[tuple[str, str]]:
    """Every `METHOD /path` the contract names, without its query string."""
    found = set()
    for method, path in re.findall(r"`(GET|POST|PATCH|PUT|DELETE) (/[^`\s?]+)", CONTRACT.read_text()):
        if path.startswith(("/api/", "/sms/", "/healthz/")) and path not in THE_DOCUMENT:
            found.add((method.lower(), path))
    return found


def test_the_schema_describes_every_operation_of_the_contract(document):
    documented = {(method, path) for path, method, _ in operations(document)}
    contract = contract_operations()
    assert ("post", "/api/v1/restaurants/{slug}/reservations/") in contract  # the reading of the contract works
    not_built = {(method, path) for method, path in contract if path in NOT_BUILT_YET}
    assert contract - not_built - documented == set()


def test_every_operation_documents_413_429_and_503_with_the_error_body(document):
    for path, method, operation in operations(document):
        if path == "/healthz/":  # not an API answer: its own body, 200 or 503 naming what is down
            assert set(operation["responses"]) == {"200", "503"}
            continue
        responses = operation["responses"]
        for status in ("413", "429", "503"):
            assert status in responses, (method, path, status)
            assert responses[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, (method, path, status)
        assert "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]


def test_the_walls_and_bad_input_are_documented_where_they_apply(document):
    for path, method, operation in operations(document):
        responses = operation["responses"]
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in responses, (method, path)
        if any(requirement for requirement in operation.get("security", [])):
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert {"400", "415"} <= set(responses), (method, path)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
            assert "422" in responses, (method, path)
    assert {"401", "403", "404"} <= set(document["paths"]["/api/v1/reservations/{id}/"]["get"]["responses"])


def test_one_error_body_for_every_error(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail"}
    assert set(error["properties"]) == {"code", "detail", "fields"}
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and path != "/healthz/":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[1] in ("Error", "NoTablesOutput"), (method, path, status)
