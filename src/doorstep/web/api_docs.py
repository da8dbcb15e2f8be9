"""The API documentation at ``/docs``: Swagger UI served by Doorstep itself.

FastAPI's own ``/docs`` loads Swagger UI from a CDN (and its icon from another
site), so it is blank without internet and tells third parties who reads it.
Here the page, Swagger UI (vendored in ``static/``, Apache-2.0, see
``static/swagger-ui.LICENSE.txt``) and the description all come from this
origin, under the pages' security headers (the same Content-Security-Policy:
nothing from anywhere else can load).  ReDoc is not served.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from doorstep.web.mount import HEADERS

DOCS_PATH = "/docs"
#: The files the page loads, all under /static/.
ASSETS = ("/static/swagger-ui.css", "/static/swagger-ui-bundle.js", "/static/api-docs.js")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve the documentation page of ``app``'s description at :data:`DOCS_PATH`."""
    page = _PAGE.format(
        title=escape(app.title), openapi_url=escape(app.openapi_url or "/openapi.json")
    )

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        """The Swagger UI page (no third-party resources)."""
        return HTMLResponse(page, headers=HEADERS)
