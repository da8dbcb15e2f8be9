"""A minimal walk over the top level of protobuf bytes, for checks protobuf cannot make.

protobuf keeps only the last member of a oneof that appears several times on the
wire (and merges repeated occurrences of one message field).  A Record whose record
type is ambiguous is refused rather than guessed, so we count the fields ourselves.
"""

from __future__ import annotations

from collections.abc import Container


def count_top_level_fields(data: bytes, numbers: Container[int]) -> int:
    """How many top-level fields of ``data`` have a number in ``numbers``; -1 if unsure.

    ``data`` should already have parsed as a message, so this walk only skips fields;
    it gives up (-1) on groups, which USP never uses, and on truncated input.
    """
    count, pos, end = 0, 0, len(data)
    while pos < end:
        key = data[pos]
        if key < 0x80:  # fast path: one-byte key (field numbers 1-15)
            pos += 1
        else:
            key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 2:
            length = data[pos] if pos < end else 0x80
            if length < 0x80:
                pos += 1 + length
            else:
                length, pos = _varint(data, pos)
                pos += length
        elif wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            return -1
        if key >> 3 in numbers:
            count += 1
    return count if pos == end else -1


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it; past the end if it is cut off."""
    result, shift = 0, 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    return 0, len(data) + 1
