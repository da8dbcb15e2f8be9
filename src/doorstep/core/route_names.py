"""Names of routes that one area links to from another's responses.

A response's links are built from route names (``app.url_path_for``), never
written as paths, so a link follows its route wherever it moves.  A name one area
links to and another area defines lives here, below both.
"""

from __future__ import annotations

#: ``POST /api/v1/me/requests``: a subscriber files a data-subject request.
FILE_REQUEST = "requests.file"
