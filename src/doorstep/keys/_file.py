"""The keyring as a local file: ``<data_dir>/keyring.json``, mode 0600.

* Created on first use with mode 0600 (``O_EXCL``, then ``fchmod``) in a 0700
  directory.  An existing file that group or others may read or write, or that
  belongs to another user, is refused with a message saying how to fix it.
* Every change of the KEKs (new KEK, retirement) takes an exclusive ``flock``
  on ``keyring.json.lock``, re-reads the file, applies the change and replaces
  the file atomically (write a temporary 0600 file, ``fsync``, ``rename``,
  ``fsync`` the directory), so processes sharing a data directory never lose
  each other's changes.
* Tombstones are appended, one line each, to the journal
  ``keyring.json.tombstones`` (0600) under the same lock and ``fsync``-ed: a
  destruction costs one short write however many subjects were destroyed
  before (rewriting the whole file for each would grow with every erasure).
  A KEK change folds the journal into the file and empties it; a crash in
  between leaves tombstones in both, which is harmless.
* Readers notice another process's change by the file's inode, size and
  mtime, and read only what was appended to the journal since they last
  looked (one ``stat`` of each per wrap or unwrap; unwraps are rare thanks to
  the DEK cache).

We accept that a single file does not suit several hosts: each host would hold
its own tombstones.  Deployments with more than one host use a KMS keyring.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from doorstep.core.clock import Clock, SystemClock
from doorstep.keys._local import LocalKeyring, State, T, Tombstone
from doorstep.keys.exceptions import KeyringError, KeyringPermissionError

log = logging.getLogger("doorstep.keys")

_Stamp = tuple[int, int, int, int]


class FileKeyring(LocalKeyring):
    """KEKs and tombstones in a private JSON file (see the module docstring)."""

    def __init__(self, path: Path, *, clock: Clock | None = None, create: bool = True) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self.journal = path.with_name(path.name + ".tombstones")
        self._stamp: _Stamp | None = None
        self._journal_read = 0
        self._journal_inode = 0
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._exclusive():
            if path.exists():
                state = self._load()
            elif create:
                state = State.new((clock or SystemClock()).now())
                self._write(state)
                log.info("created a new keyring at %s (mode 0600)", path)
            else:
                raise KeyringError(f"there is no keyring at {path}")
        super().__init__(state)

    def describe(self) -> str:
        """The keyring file's path."""
        return str(self.path)

    # -- storage hooks -------------------------------------------------------------------------

    def _view(self) -> State:
        try:
            current = _stamp(self.path.stat())
        except FileNotFoundError:
            raise KeyringError(f"the keyring file {self.path} has disappeared") from None
        with self._lock:
            if current != self._stamp:
                self._state = self._load()
            self._read_journal(self._state)
        return self._state

    def _update(self, change: Callable[[State], T]) -> T:
        """Change the KEKs: fold the journal into the file and empty the journal."""
        with self._lock, self._exclusive():
            state = self._load()
            self._read_journal(state)
            result = change(state)
            self._write(state)
            if self.journal.exists():
                # A new, empty file (a new inode): readers holding an offset into the
                # old one notice the change and read the new one from the start.
                self._replace(self.journal, b"")
            self._journal_read = 0
            self._state = state
            return result

    def destroy_subject(self, subject_id: uuid.UUID, *, now: datetime) -> None:
        """Append the subject's tombstone to the journal (kept if one exists); durable."""
        self.destroy_subjects([subject_id], now=now)

    def destroy_subjects(self, subject_ids: Sequence[uuid.UUID], *, now: datetime) -> None:
        """Append the tombstones not there yet to the journal in one write and one fsync."""
        with self._lock, self._exclusive():
            state = self._view()
            tombstone = Tombstone(now, max(k.seq for k in state.keks))
            digests = dict.fromkeys(self._digest(state, subject) for subject in subject_ids)
            new = [digest for digest in digests if digest not in state.tombstones]
            if not new:
                return
            stamp = f"{tombstone.destroyed_at.isoformat()} {tombstone.max_seq}\n"
            lines = "".join(f"{digest} {stamp}" for digest in new).encode("ascii")
            fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, lines)
                os.fsync(fd)
            finally:
                os.close(fd)
            state.tombstones.update(dict.fromkeys(new, tombstone))
            self._journal_read += len(lines)

    def _read_journal(self, state: State) -> None:
        """Add the tombstones appended to the journal since the last read to ``state``."""
        try:
            info = self.journal.stat()
        except FileNotFoundError:
            self._journal_read = 0
            return
        if info.st_ino != self._journal_inode or info.st_size < self._journal_read:
            self._journal_read = 0  # replaced or emptied: read it again from the start
            self._journal_inode = info.st_ino
        if info.st_size == self._journal_read:
            return
        check_private(self.journal, info)
        with self.journal.open("rb") as journal:
            journal.seek(self._journal_read)
            data = journal.read(info.st_size - self._journal_read)
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        for raw in complete.decode("ascii").splitlines():
            try:
                digest, destroyed_at, max_seq = raw.split(" ")
                state.tombstones.setdefault(
                    digest, Tombstone(datetime.fromisoformat(destroyed_at), int(max_seq))
                )
            except ValueError:
                raise KeyringError(f"the tombstone journal {self.journal} is corrupt") from None
        self._journal_read += len(complete)

    # -- file handling -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _load(self) -> State:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except PermissionError:
            raise KeyringError(f"the keyring file {self.path} cannot be read") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            check_private(self.path, info)
            raw = handle.read()
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise KeyringError(f"the keyring file {self.path} is not valid JSON") from None
        state = State.from_json(document)
        self._stamp = _stamp(info)
        self._journal_read = 0  # the journal is read again on top of the file
        return state

    def _write(self, state: State) -> None:
        self._replace(self.path, json.dumps(state.to_json(), indent=2).encode("utf-8"))
        self._stamp = _stamp(self.path.stat())

    def _replace(self, path: Path, data: bytes) -> None:
        """Replace ``path`` atomically with a 0600 file holding ``data`` (fsync-ed)."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # whatever the umask said
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def check_private(path: Path, info: os.stat_result) -> None:
    """Refuse a keyring file that is not a regular file private to the current user."""
    if not stat.S_ISREG(info.st_mode):
        raise KeyringPermissionError(f"the keyring {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyringPermissionError(
            f"the keyring file {path} has mode {mode:04o}, so other users may read the "
            f"key-encryption keys; Doorstep refuses to use it. Check who could have copied "
            f"it, then run: chmod 600 {path}",
            mode=f"{mode:04o}",
        )
    if info.st_uid != os.geteuid():
        raise KeyringPermissionError(
            f"the keyring file {path} belongs to user id {info.st_uid}, not to the user "
            f"running Doorstep ({os.geteuid()}); Doorstep refuses to use it"
        )


def _stamp(info: os.stat_result) -> _Stamp:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
