"""Refresh the catalogues from the code: ``python -m doorstep.locale.extract [--check]``.

Extracts every marked message of the package with Babel (the mapping is
``babel.cfg`` beside this module: Python files and the Jinja2 templates), writes
``doorstep.pot`` and merges it into every ``<lang>/LC_MESSAGES/doorstep.po``
(new ids come in untranslated, changed ones fuzzy, removed ones are dropped).
Output is sorted and carries file names without line numbers, so it changes only
when a message does.  ``--check`` writes nothing and exits 1 when the template
is out of date with the code (the test suite runs the same comparison).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from doorstep.locale import DOMAIN, LOCALE_DIR, POT, available, po_file

PACKAGE = LOCALE_DIR.parent
MAPPING = LOCALE_DIR / "babel.cfg"
#: A fixed header date keeps the files unchanged when no message changed.
_STAMP = datetime(2025, 1, 1, tzinfo=UTC)


def extract() -> Catalog:
    """Every marked message of the package, with the files it appears in."""
    with MAPPING.open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(MAPPING))  # type: ignore[no-untyped-call]
    catalog = Catalog(project="Doorstep", domain=DOMAIN, creation_date=_STAMP, revision_date=_STAMP)
    found = extract_from_dir(PACKAGE, method_map, options_map, comment_tags=("Translators:",))
    for filename, lineno, message, comments, context in found:
        catalog.add(
            message,
            None,
            [(Path(filename).as_posix(), lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def msgids(catalog: Catalog) -> set[str]:
    """The message ids of ``catalog`` (a plural entry by its singular)."""
    ids = set()
    for message in catalog:
        if message.id:
            ids.add(message.id if isinstance(message.id, str) else message.id[0])
    return ids


def read(path: Path, language: str | None = None) -> Catalog:
    """The catalogue in ``path``."""
    with path.open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as target:
        write_po(
            target, catalog, sort_output=True, include_lineno=False, ignore_obsolete=True, width=96
        )


def refresh() -> None:
    """Write ``doorstep.pot`` and merge it into every shipped language."""
    template = extract()
    _write(POT, template)
    for language in available()[1:]:
        catalog = read(po_file(language), language)
        catalog.update(template, update_header_comment=False)
        catalog.revision_date = _STAMP
        _write(po_file(language), catalog)


def main(argv: list[str] | None = None) -> int:
    """Refresh the catalogues, or with ``--check`` say whether the template is current."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        missing = sorted(msgids(extract()) - msgids(read(POT)))
        for message in missing:
            sys.stderr.write(f"not in {POT.name}: {message!r}\n")
        return 1 if missing else 0
    if args:
        sys.stderr.write("usage: python -m doorstep.locale.extract [--check]\n")
        return 2
    refresh()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
