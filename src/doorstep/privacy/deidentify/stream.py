"""Streaming de-identification: any size of input in bounded memory, failing closed.

The input is read in chunks (1 MiB by default) and cut after its last newline;
each run of whole lines is checked and scanned as one block, and the rest is
carried into the next chunk.  Memory is bounded by the chunk size plus the
longest line allowed (``max_line``, 1 MiB by default).

Fail closed: a line that is not UTF-8, holds a NUL byte or is still
unfinished ``max_line`` bytes after the previous one ended stops the run with
:class:`MalformedLineError` naming its number before any byte of its block is
written.  The sink then holds only the blocks
before it, each de-identified; :func:`deidentify_file` writes to a temporary
file and renames it only when the whole input went through, so a failed run
leaves no output at all.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from doorstep.privacy.deidentify.errors import MalformedLineError
from doorstep.privacy.deidentify.kinds import Kind
from doorstep.privacy.deidentify.scanner import Scanner

CHUNK_SIZE = 1 << 20
MAX_LINE = 1 << 20


@dataclass(frozen=True)
class Summary:
    """What one run did: counts only, never a value (safe to audit and log)."""

    profile: str
    lines: int
    bytes_in: int
    bytes_out: int
    #: Identifiers replaced per kind (pseudonymised or dropped, as the profile says).
    replaced: dict[str, int] = field(default_factory=dict)
    #: Kinds the profile drops (the rest are pseudonymised).
    dropped_kinds: tuple[str, ...] = ()


def _check(block: bytes, first_line: int) -> None:
    """Raise :class:`MalformedLineError` for the first line of ``block`` we cannot vouch for."""
    nul = block.find(b"\x00")
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start if nul < 0 else min(exc.start, nul)
        reason = "holds a NUL byte" if bad == nul else "is not UTF-8"
        raise MalformedLineError(first_line + block.count(b"\n", 0, bad), reason) from None
    if nul >= 0:
        raise MalformedLineError(first_line + block.count(b"\n", 0, nul), "holds a NUL byte")


def deidentify_stream(
    source: BinaryIO,
    sink: BinaryIO,
    scanner: Scanner,
    *,
    chunk_size: int = CHUNK_SIZE,
    max_line: int = MAX_LINE,
) -> Summary:
    """Copy ``source`` to ``sink`` with every identifier replaced; see the module docstring."""
    before = Counter(scanner.counts)
    line = 1  # number of the first line of the pending data
    pending = b""
    bytes_in = bytes_out = 0
    last = b""
    while True:
        chunk = source.read(chunk_size)
        bytes_in += len(chunk)
        last = chunk[-1:] or last
        data = pending + chunk if pending else chunk
        if not chunk:  # end of input: the rest is a last line without a newline
            cut = len(data)
        else:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > max_line:
                    raise MalformedLineError(line, f"is longer than {max_line} bytes")
                pending = data
                continue
        block, pending = data[:cut], data[cut:]
        if block:
            _check(block, line)
            newlines = block.count(b"\n")
            out = scanner.block(block)
            sink.write(out)
            bytes_out += len(out)
            line += newlines
        if len(pending) > max_line:
            raise MalformedLineError(line, f"is longer than {max_line} bytes")
        if not chunk:
            break
    lines = line - 1 + (1 if last not in (b"", b"\n") else 0)
    done = scanner.counts - before
    return Summary(
        profile=scanner.profile.name,
        lines=lines,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        replaced={kind.value: done[kind] for kind in Kind if done[kind]},
        dropped_kinds=tuple(sorted(kind.value for kind in scanner.profile.dropped)),
    )


def deidentify_file(source: Path, target: Path, scanner: Scanner) -> Summary:
    """De-identify ``source`` into ``target``, which exists only if all of it went through."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with source.open("rb") as reader, os.fdopen(handle, "wb") as writer:
            summary = deidentify_stream(reader, writer, scanner)
            writer.flush()
            os.fsync(writer.fileno())
        Path(temporary).replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
    return summary


def deidentify_payload(text: str, scanner: Scanner) -> str:
    """One message or payload (any number of lines) de-identified, with the stream's checks."""
    data = text.encode("utf-8")
    _check(data, 1)
    return scanner.block(data).decode("utf-8")
