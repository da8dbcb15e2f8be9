"""Whole numbers typed by a visitor (form fields, token parts), parsed in one place.

``str.isdigit()`` then ``int()`` is two traps: ``isdigit`` is true for Unicode
digits that ``int`` refuses (``"²"``) or reads (``"٣"``), and ``int`` refuses a
string of more than 4,300 digits (Python's guard against quadratic parsing), so
either ends as a server error.  :func:`whole_number` accepts ASCII digits only,
no longer than its maximum needs, inside a range, and answers ``None`` for
anything else: the caller says what is wrong with the field.
"""

from __future__ import annotations

import re

_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def whole_number(text: str | None, *, minimum: int = 0, maximum: int) -> int | None:
    """``text`` as an int in ``minimum..maximum`` (both included), else ``None``.

    Only ASCII digits ``0-9`` (no sign, no spaces, no Unicode digits) and at most
    as many as ``maximum`` has, so nothing long is ever converted.
    """
    if minimum < 0 or maximum < minimum:
        raise ValueError("whole_number needs 0 <= minimum <= maximum")
    if not text or len(text) > len(str(maximum)) or not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
