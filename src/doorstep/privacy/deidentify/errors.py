"""What goes wrong in de-identification; every error stops the run before a line passes.

::

    InvalidInputError
    └── DeidentifyError    422 in the API; the caller discards what was written
        ├── PatternError       a pattern does not compile: nothing is scanned at all
        └── MalformedLineError a line cannot be vouched for (not UTF-8, NUL, too long)
"""

from __future__ import annotations

from doorstep.core.errors import InvalidInputError


class DeidentifyError(InvalidInputError):
    """De-identification refused to go on; nothing after the reported point was written."""

    code = "deidentify-failed"
    title = "De-identification failed"


class PatternError(DeidentifyError):
    """A pattern of the profile does not compile; names the kind and its position."""

    code = "deidentify-pattern"
    title = "De-identification pattern invalid"

    def __init__(self, kind: str, index: int, reason: str) -> None:
        super().__init__(
            f"pattern {index} of kind {kind!r} does not compile: {reason}", kind=kind, index=index
        )
        self.kind = kind
        self.index = index


class MalformedLineError(DeidentifyError):
    """A line the scanner cannot vouch for; ``line`` is its 1-based number in the input."""

    code = "deidentify-malformed-line"
    title = "Malformed line"

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}", line=line)
        self.line = line
        self.reason = reason
