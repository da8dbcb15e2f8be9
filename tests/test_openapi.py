"""The published description (/openapi.json) says what the API really answers.

Every error is described once, as the ``Problem`` schema in
``application/problem+json``, and every operation refers to it for the statuses
it can answer; schema names are public names, never module paths.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def document(runtime: Runtime) -> dict[str, Any]:
    """The description as served."""
    response = TestClient(create_app(runtime)).get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_schema_names_are_public_names(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])
    assert {"Problem", "FieldError"} <= names
    assert not names & {"HTTPValidationError", "ValidationError"}
    assert [name for name in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)] == []


def test_the_problem_document_is_described_once(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }


def test_every_error_response_is_a_problem(document: dict[str, Any]) -> None:
    for label, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == PROBLEM, (label, status)


def test_every_operation_describes_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    for label, operation in _operations(document):
        statuses = set(operation["responses"])
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= statuses, label
        if operation.get("parameters"):
            assert "422" in statuses, label
        if operation.get("security"):
            assert "401" in statuses, label
    responses = document["paths"]["/api/v1/accounts/sessions"]["post"]["responses"]
    assert {"401", "429"} <= set(responses)
    assert "Retry-After" in responses["429"]["headers"]
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]
