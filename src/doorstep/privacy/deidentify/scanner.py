"""The scanner: one Hyperscan database for every pattern of a profile, applied to blocks of lines.

Hyperscan (Intel's multi-pattern engine, BSD-licensed, bindings from PyPI) scans
a block once per kind, for all of that kind's patterns together, and reports
``(pattern, start, end)`` with the leftmost start (for e-mail addresses the end
only; the scanner walks back over the local part itself).  Matches are
resolved leftmost-first: a span starts at the earliest match and grows over
every match that overlaps it, so no byte any pattern matched is left in clear,
even where two patterns disagree on where an identifier ends.  Each span
becomes the pseudonym of its first match's kind, or ``[<kind> removed]`` when
the profile drops that kind.

A :class:`Scanner` holds Hyperscan scratch space: use one per thread.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any

import hyperscan

from doorstep.privacy.deidentify.errors import DeidentifyError, PatternError
from doorstep.privacy.deidentify.kinds import END_ONLY, LABELLED, LOCAL_PART, Kind
from doorstep.privacy.deidentify.profiles import Profile
from doorstep.privacy.deidentify.pseudonyms import CACHE_LIMIT, Pseudonymiser, PseudonymKey

#: The label a labelled match starts with (``serial=``, ``SerialNumber: "``): it stays.
_LABEL = re.compile(rb"^[A-Za-z_]+[=:] ?\"?")


#: Bits of a packed match below its start: 8 for the pattern id, 22 for the length.
_START_SHIFT = 30
_LENGTH_LIMIT = (1 << 22) - 1


def _on_match(pattern: int, start: int, end: int, flags: int, found: Any) -> None:
    # One int per match, so that sorting orders by start, then longest first.
    found.append((start << _START_SHIFT) | ((_LENGTH_LIMIT - (end - start)) << 8) | pattern)


def _on_end(pattern: int, start: int, end: int, flags: int, found: Any) -> None:
    found.append((end << 8) | pattern)


@functools.cache
def _compiled(expressions: tuple[str, ...], ids: tuple[int, ...], start: bool) -> bytes:
    """The serialised Hyperscan database of ``expressions``, reporting each with its id.

    Compiling costs tens of milliseconds per kind, and a process reads the same
    patterns many times (every pack load validates them, every :class:`Scanner`
    needs them), so each distinct pattern list compiles once per process.  The
    cache holds bytes, not databases: a database carries its scratch space,
    which must not be shared between scanners (threads).  A failure raises and
    is not cached, so a broken pattern is reported on every load.
    """
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[pattern.encode("ascii") for pattern in expressions],
        ids=list(ids),
        elements=len(expressions),
        flags=[hyperscan.HS_FLAG_SOM_LEFTMOST if start else 0] * len(expressions),
    )
    return bytes(hyperscan.dumpb(database))


def _database(entries: list[tuple[int, Kind, int, str]], *, start: bool) -> hyperscan.Database:
    """A fresh database (scratch space of its own) of ``entries``; compiled once per process."""
    try:
        blob = _compiled(
            tuple(pattern for _id, _kind, _index, pattern in entries),
            tuple(number for number, _kind, _index, _pattern in entries),
            start,
        )
    except UnicodeEncodeError:
        bad = next(entry for entry in entries if not entry[3].isascii())
        raise PatternError(bad[1].value, bad[2], "not ASCII") from None
    except hyperscan.HyperscanError as exc:
        _number, kind, index, _pattern = _failing(entries, start=start)
        raise PatternError(kind.value, index, str(exc) or "rejected by Hyperscan") from None
    database = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
    database.scratch = hyperscan.Scratch(database)
    return database


def compile_database(
    profile: Profile,
) -> tuple[list[tuple[hyperscan.Database, bool]], tuple[Kind, ...]]:
    """The profile's patterns, one Hyperscan database per kind, and the kind of each pattern id.

    Each database comes with whether it reports starts (the :data:`END_ONLY` kinds
    do not).  One database per kind scans faster here than one for all: with
    every pattern together Hyperscan leaves its fastest engines.
    :class:`PatternError` names the first pattern that does not compile, so nothing
    is ever scanned with a pattern missing.
    """
    entries = [
        (number, kind, index, pattern)
        for number, (kind, index, pattern) in enumerate(profile.patterns())
    ]
    for _number, kind, index, pattern in entries:
        if kind in END_ONLY and "@" not in pattern:
            raise PatternError(kind.value, index, "an e-mail pattern must hold an @")
    databases = []
    for kind in Kind:
        own = [entry for entry in entries if entry[1] is kind]
        if own:
            start = kind not in END_ONLY
            databases.append((_database(own, start=start), start))
    return databases, tuple(kind for _number, kind, _index, _pattern in entries)


def _failing(
    entries: list[tuple[int, Kind, int, str]], *, start: bool
) -> tuple[int, Kind, int, str]:
    """Which pattern broke: compile each alone (only on the error path)."""
    for entry in entries:
        probe = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            probe.compile(
                expressions=[entry[3].encode("ascii")],
                flags=hyperscan.HS_FLAG_SOM_LEFTMOST if start else 0,
            )
        except hyperscan.HyperscanError:
            return entry
    return entries[0]


def _with_starts(data: bytes, ends: list[int]) -> list[int]:
    """Packed matches of e-mail addresses found by their ends; each starts with its local part."""
    packed = []
    for item in ends:
        end, pattern = item >> 8, item & 0xFF
        at = data.rfind(b"@", 0, end)
        line = data.rfind(b"\n", 0, at) + 1
        start = line + len(data[line:at].rstrip(LOCAL_PART))
        packed.append((start << _START_SHIFT) | ((_LENGTH_LIMIT - (end - start)) << 8) | pattern)
    return packed


class Scanner:
    """De-identifies blocks of whole lines under one profile and key."""

    def __init__(self, profile: Profile, key: PseudonymKey) -> None:
        self.profile = profile
        self._databases, kinds = compile_database(profile)
        if len(kinds) > 255:
            raise PatternError(kinds[-1].value, len(kinds), "more than 255 patterns in a profile")
        self._kinds = kinds
        self._pseudonyms = Pseudonymiser(key)
        self._removed = {kind: f"[{kind.value} removed]".encode() for kind in Kind}
        # Per pattern id: the replacements already made (bounded), and identifiers replaced.
        self._made: list[dict[bytes, bytes]] = [{} for _ in kinds]
        self._replaced = [0] * len(kinds)

    @property
    def counts(self) -> Counter[Kind]:
        """Identifiers replaced (pseudonymised or dropped) per kind since the scanner was made."""
        counts: Counter[Kind] = Counter()
        for kind, count in zip(self._kinds, self._replaced, strict=True):
            counts[kind] += count
        return counts

    def _replacement(self, pattern: int, value: bytes) -> bytes:
        made = self._made[pattern]
        kind = self._kinds[pattern]
        label = b""
        if kind in LABELLED:
            found = _LABEL.match(value)
            if found is not None:
                label, value = value[: found.end()], value[found.end() :]
        if kind in self.profile.pseudonymise:
            replacement = label + self._pseudonyms.token(kind, value)
        else:
            replacement = label + self._removed[kind]
        if len(made) >= CACHE_LIMIT:
            made.clear()
        made[label + value] = replacement
        return replacement

    def block(self, data: bytes) -> bytes:
        """``data`` (whole lines) with every identifier replaced or removed."""
        if len(data) > _LENGTH_LIMIT:
            raise DeidentifyError(f"a block is longer than {_LENGTH_LIMIT} bytes")
        found: list[int] = []
        try:
            for database, with_start in self._databases:
                if with_start:
                    database.scan(data, match_event_handler=_on_match, context=found)
                else:
                    ends: list[int] = []
                    database.scan(data, match_event_handler=_on_end, context=ends)
                    found.extend(_with_starts(data, ends))
        except hyperscan.HyperscanError as exc:
            raise DeidentifyError(f"the scan failed: {exc}") from None
        if not found:
            return data
        found.sort()
        made, replaced = self._made, self._replaced
        parts: list[bytes] = []
        append = parts.append
        done = 0  # everything before this offset is written
        span_start = span_end = -1
        span_pattern = 0
        for packed in found:
            start = packed >> _START_SHIFT
            end = start + _LENGTH_LIMIT - ((packed >> 8) & _LENGTH_LIMIT)
            if start < span_end:  # overlaps the open span: it grows
                span_end = max(span_end, end)
                continue
            if span_end >= 0:
                append(data[done:span_start])
                value = data[span_start:span_end]
                replaced[span_pattern] += 1
                append(made[span_pattern].get(value) or self._replacement(span_pattern, value))
                done = span_end
            span_start, span_end, span_pattern = start, end, packed & 0xFF
        append(data[done:span_start])
        value = data[span_start:span_end]
        replaced[span_pattern] += 1
        append(made[span_pattern].get(value) or self._replacement(span_pattern, value))
        append(data[span_end:])
        return b"".join(parts)
