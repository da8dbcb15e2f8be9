"""The account page's language form: the language e-mails and notices are written in.

``POST /account/language`` stores one of the languages Doorstep speaks as the
subscriber's own (``accounts.language``, through the accounts service); the
page itself keeps following the visitor's choice of cookie or browser.  An
unknown language (only a tampered form sends one) is the 422 error page and
changes nothing.
Success: 303 to ``/account?done=language_changed``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from doorstep.accounts.account.language import set_language
from doorstep.accounts.context import AccountContext
from doorstep.core.errors import DoorstepError
from doorstep.web.csrf import checked_form
from doorstep.web.i18n import _, available
from doorstep.web.session import PageSubscriber
from doorstep.web.templating import DONE
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)
Form = Annotated[FormData, Depends(checked_form)]
DONE["language_changed"] = _(
    "Your language is saved: e-mails and notices are written in it from now on."
)
#: Each language in its own name: a reader finds their language whatever the page's.
NAMES = {"en": "English", "de": "Deutsch"}


def choices() -> list[tuple[str, str]]:
    """The languages Doorstep speaks, as (code, own name), English first."""
    return [(code, NAMES.get(code, code)) for code in available()]


@router.get("/account/language")
def back_to_account(request: Request) -> Response:
    """The form's address opened directly: the account page."""
    return RedirectResponse("/account#language", status_code=303)


@router.post("/account/language")
def change_language(request: Request, subscriber: PageSubscriber, form: Form) -> Response:
    """Store the chosen language; an unknown one is the 422 error page, nothing stored."""
    chosen = form.get("language")
    language = chosen if isinstance(chosen, str) else ""
    ctx = AccountContext.of(services_of(request))
    outcome = attempt(
        request, lambda session: set_language(session, ctx, subscriber.subject_id, language)
    )
    if not outcome.ok:
        raise outcome.error or DoorstepError()
    return RedirectResponse("/account?done=language_changed#main", status_code=303)
