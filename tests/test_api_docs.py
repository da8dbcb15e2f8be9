"""The API documentation (/docs) comes from Doorstep itself, under the pages' CSP.

FastAPI's own page loads Swagger UI from a CDN; ours must work without internet
and tell no third party who reads it (``tests/web/test_api_docs_page.py`` renders
it in Chromium).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.web.api_docs import ASSETS
from doorstep.web.mount import POLICY, STATIC


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served."""
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.mark.clause("CPE-II.1")
def test_the_docs_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == POLICY
    html = response.text
    assert not re.search(r"(https?:)?//", html), "an absolute or protocol-relative URL"
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert set(ASSETS) <= set(referenced)
    for url in referenced:
        if url.startswith("data:"):
            continue
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-security-policy"] == POLICY, url
    assert 'data-openapi-url="/openapi.json"' in html


def test_the_start_script_turns_the_validator_off() -> None:
    script = (STATIC / "api-docs.js").read_text(encoding="utf-8")
    assert "validatorUrl: null" in script
    assert "http" not in script.replace("// ", "")
    assert "Apache License" in (STATIC / "swagger-ui.LICENSE.txt").read_text(encoding="utf-8")


def test_no_other_documentation_page_is_served(client: TestClient) -> None:
    for path in ("/redoc", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 404, path
