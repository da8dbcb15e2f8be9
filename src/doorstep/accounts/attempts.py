"""The accounts API's request transaction: failed attempts stay counted.

Like :func:`doorstep.audit.entries.audited_transaction`, but an error that
records a failed attempt (:class:`~doorstep.accounts.exceptions.KeepsChanges`:
a wrong code, a wrong password, a rate-limit hit) commits the transaction before
it goes on up.  Without that, the rollback would undo the very count that stops
guessing.  Services raise such errors only after the failure's own changes (and
nothing else) are made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from doorstep.accounts.exceptions import keeps_changes
from doorstep.audit.entries import audit_entry_of
from doorstep.core.errors import DoorstepError


@contextmanager
def attempt_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed on success and on a ``keeps_changes`` error, else rolled back.

    A refusal that carries an audit entry is written again after a rollback.
    """
    session = factory()
    try:
        session.begin()
        try:
            yield session
        except BaseException as exc:
            if keeps_changes(exc):
                session.commit()
            else:
                session.rollback()
                entry = audit_entry_of(exc) if isinstance(exc, DoorstepError) else None
                if entry is not None:
                    with factory() as again, again.begin():
                        entry.write(again)
            raise
        session.commit()
    finally:
        session.close()


def attempt_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a request session in an :func:`attempt_transaction`."""
    from doorstep.services import services_of

    with attempt_transaction(services_of(request).runtime.sessions) as session:
        yield session


#: The dependency to use.  ``scope="function"``: the transaction commits before the
#: response is sent, so a token, code or ticket the response hands out is visible to
#: the client's very next request on any replica (FastAPI's default scope would
#: commit only after the response has gone out, and the next request could race it).
AttemptSession = Annotated[Session, Depends(attempt_session, scope="function")]
