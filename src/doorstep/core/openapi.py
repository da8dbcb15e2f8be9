"""The published API description (``/openapi.json``): FastAPI's, with the real errors.

FastAPI describes validation errors as its own ``HTTPValidationError`` in
``application/json``; Doorstep answers every error with a :class:`Problem` in
``application/problem+json``.  :func:`install_openapi` describes that document
once (``components.schemas.Problem``) and refers to it from every operation:

* an operation with parameters or a body: 422 (the ``errors`` list);
* with a body: 400 (not JSON), 413 (too large), 415 (not ``application/json``),
  the rules of :mod:`doorstep.core.bodies`;
* with a security requirement: 401;
* the statuses its router or route declares with
  :func:`doorstep.core.problems.problem_responses` (403, 404, 409, 429 …);
  an error status a route describes in words only gets the problem content too.

``tests/test_api_contract.py`` checks real responses of every operation against
this description.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from doorstep.core.problems import Problem, problem_response_description

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
_REF = "#/components/schemas/{model}"
#: FastAPI's own validation-error schemas, which no response of ours has.
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _problem_statuses(operation: dict[str, Any]) -> set[int]:
    statuses: set[int] = set()
    if operation.get("requestBody"):
        statuses |= {400, 413, 415, 422}
    if operation.get("parameters"):
        statuses.add(422)
    if operation.get("security"):
        statuses.add(401)
    return statuses


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's description) with the problem responses described."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_SCHEMAS:
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template=_REF)
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in _problem_statuses(operation):
                responses[str(status)] = problem_response_description(status)
            for status, response in responses.items():
                # An error a route describes in words only is still a problem document.
                if status[0] in "45" and "content" not in response:
                    response.update(problem_response_description(int(status)) | response)
            operation["responses"] = dict(sorted(responses.items()))
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`with_problems` of FastAPI's description as ``app``'s description."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(copy.deepcopy(build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
