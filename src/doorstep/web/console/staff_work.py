"""Staff work from the console's forms: the checked form, a transaction per action, field messages.

* :func:`act` runs a staff member's work in a transaction of its own
  (:func:`doorstep.web.work.attempt`) after :func:`~doorstep.staff.services.require_action`
  said yes.  A refusal of the role (already audited by ``require_action``) is
  raised again, so the page answers with the 403 error page and nothing changes;
  any other service error comes back in the :class:`~doorstep.web.work.Outcome`
  for the form to show.
* :func:`must` is the value of an outcome, or its error raised (the error page).
* :func:`field_errors` turns a service's ``errors`` (field and rule) into the
  message each form field shows, preferring the page's own wording.
* :func:`text` reads a stripped text field; ``Form`` is a POSTed form after the
  CSRF checks.

Nothing here reads personal data: the console's reads go through the services
(``staff_read`` for values, the request views for ids, codes and instants).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.staff.exceptions import StaffPermissionDeniedError
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff, require_action
from doorstep.web.csrf import checked_form
from doorstep.web.work import Outcome, attempt

T = TypeVar("T")

#: A POSTed console form, after the CSRF checks.
Form = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str) -> str:
    """A text field of the form, stripped ('' when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def act(
    request: Request, staff: Staff, action: StaffAction, work: Callable[[Session, str], T]
) -> Outcome[T]:
    """Run ``work(session, actor)`` once ``staff`` may do ``action``; a denial is raised (403)."""

    def run(session: Session) -> T:
        actor = require_action(session, staff.id, action).actor
        return work(session, actor)

    outcome = attempt(request, run)
    if isinstance(outcome.error, StaffPermissionDeniedError):
        raise outcome.error
    return outcome


def must(outcome: Outcome[T]) -> T:
    """The outcome's value; its error is raised (the error page says what went wrong)."""
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]


def field_errors(outcome: Outcome[Any], wording: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Field -> message: the page's ``wording[(field, rule)]``, else the shared rule's text."""
    found = dict(outcome.fields)
    errors = outcome.error.fields.get("errors") if outcome.error is not None else None
    for item in errors or ():
        if isinstance(item, dict):
            key = (str(item.get("field", "")), str(item.get("rule", "")))
            if key in wording:
                found[key[0]] = wording[key]
    return found
