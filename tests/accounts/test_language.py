"""The subscriber's language: chosen at sign-up, kept on the account, used for its messages.

The API takes ``language`` (a language with a catalogue: en, de); the page uses the
language it negotiated with the browser.  E-mails, request notices and the export's
README then speak that language.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.core.runtime import Runtime
from doorstep.notify.catalogue import default_templates
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.export import build
from doorstep.schema import metadata
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    audit_actions,
    bearer,
    sign_in,
    sign_up,
    unique_email,
    unique_phone,
)
from tests.packs import reference_pack
from tests.web.clients import page_client, sign_in_as, token_of
from tests.web.people import make_subscriber


def _language(db: Session, email: str) -> str:
    return str(
        db.execute(
            sa.text("SELECT language FROM accounts WHERE email = :e"), {"e": email}
        ).scalar_one()
    )


def _mail(db: Session, template: str, email: str) -> Any:
    """The newest outbox e-mail of ``template`` to ``email``, rendered in its locale."""
    row = db.execute(
        sa.text(
            "SELECT subject_id, locale, params FROM outbox WHERE template = :t AND email = :e "
            "ORDER BY created_at DESC, ctid DESC LIMIT 1"
        ),
        {"t": template, "e": email},
    ).one()
    return row, default_templates().render(template, row.params or {}, locale=row.locale)


def test_a_german_api_sign_up_gets_german_mail_notices_and_readme(
    client: TestClient, db: Session, ctx: AccountContext
) -> None:
    email = unique_email()
    answer = sign_up(
        client, email=email, phone=unique_phone(), password=PASSWORD, age=30, language="de"
    )
    assert answer.status_code == 202, answer.text
    assert _language(db, email) == "de"
    row, mail = _mail(db, "account.verify_email", email)
    assert row.locale == "de" and mail.subject == "Ihr Bestätigungscode"

    subject_id: uuid.UUID = row.subject_id
    assert notices.notify(
        db, ctx.clock, subject_id, uuid.uuid4(), notices.RECEIVED, gate=ctx.gate, due="2027-01-31"
    )
    notice, rendered = _mail(db, notices.RECEIVED, email)
    assert notice.locale == "de" and rendered.subject == "Wir haben Ihre Anfrage erhalten"

    made = build(db, ctx.keys, metadata, reference_pack(), subject_id, now=ctx.clock.now())
    assert made.data["tables"]["accounts"][0]["language"] == "de"  # exported as its value
    readme = _readme(made.archive)
    assert readme.startswith("# Ihre Daten\n") and "# Your data" not in readme


def _readme(archive: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(archive)).read("README.md").decode()


def test_without_a_language_the_account_reads_english(
    client: TestClient, db: Session, ctx: AccountContext
) -> None:
    email = unique_email()
    assert sign_up(client, email=email, phone=unique_phone(), password=PASSWORD, age=30).is_success
    assert _language(db, email) == "en"
    row, mail = _mail(db, "account.verify_email", email)
    assert row.locale == "en" and mail.subject == "Your verification code"
    readme = _readme(
        build(db, ctx.keys, metadata, reference_pack(), row.subject_id, now=ctx.clock.now()).archive
    )
    assert readme.startswith("# Your data\n")


def test_an_unknown_language_is_refused_naming_the_field_and_creates_nothing(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    for language in ("fr", "DE", "", "x-pseudo"):
        answer = sign_up(
            client, email=email, phone=unique_phone(), password=PASSWORD, age=30, language=language
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert {"field": "language", "rule": "language_supported"} in answer.json()["errors"]
    assert db.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one() == 0
    assert db.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one() == 0


def test_a_page_sign_up_in_a_german_browser_stores_german(runtime: Runtime, db: Session) -> None:
    email = unique_email()
    with page_client(runtime, follow_redirects=False) as browser:
        browser.headers["accept-language"] = "de-DE,de;q=0.9,en;q=0.5"
        answer = browser.post(
            "/signup",
            data={
                "csrf_token": token_of(browser, "/signup"),
                "email": email,
                "phone": unique_phone(),
                "password": PASSWORD,
                "age": "30",
                "policy_version": browser.get("/api/v1/policy").json()["id"],
                "transfer_consent": "yes",  # a German number; relays in CN (decision 0035)
            },
        )
    assert answer.status_code == 200, answer.text[:300]
    assert _language(db, email) == "de"
    row, mail = _mail(db, "account.verify_email", email)
    assert row.locale == "de" and mail.subject == "Ihr Bestätigungscode"


def test_the_api_changes_the_language_and_later_mail_follows(
    client: TestClient, db: Session, ctx: AccountContext
) -> None:
    email = unique_email()
    subject_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).json()["language"] == "en"

    changed = client.put(f"{PREFIX}/me/language", json={"language": "de"}, headers=bearer(token))
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"language": "de"}
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).json()["language"] == "de"
    assert _language(db, email) == "de"
    assert "account.language_changed" in audit_actions(db, subject_id)

    assert notices.notify(
        db, ctx.clock, subject_id, uuid.uuid4(), notices.RECEIVED, gate=ctx.gate, due="2027-01-31"
    )
    notice, rendered = _mail(db, notices.RECEIVED, email)
    assert notice.locale == "de" and rendered.subject == "Wir haben Ihre Anfrage erhalten"


def test_an_unknown_language_is_refused_and_the_stored_one_stays(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    subject_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    before = audit_actions(db, subject_id)
    for language in ("fr", "DE", "x-pseudo", "e"):
        answer = client.put(
            f"{PREFIX}/me/language", json={"language": language}, headers=bearer(token)
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert language not in answer.text or language == "e"
    assert _language(db, email) == "en"
    assert audit_actions(db, subject_id) == before
    assert client.put(f"{PREFIX}/me/language", json={"language": "de"}).status_code == 401


def test_the_account_page_changes_the_language(runtime: Runtime, db: Session) -> None:
    person = make_subscriber(runtime)
    with page_client(runtime, follow_redirects=False) as browser:
        sign_in_as(browser, person, then="/account")
        page = browser.get("/account").text
        assert '<option value="en" lang="en" selected>English</option>' in page
        assert '<option value="de" lang="de">Deutsch</option>' in page
        answer = browser.post(
            "/account/language",
            data={"csrf_token": token_of(browser, "/account"), "language": "de"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/account?done=language_changed#main"
        assert _language(db, person.email) == "de"
        shown = browser.get("/account?done=language_changed").text
        assert "e-mails and notices are written in it from now on" in shown
        assert '<option value="de" lang="de" selected>Deutsch</option>' in shown

        refused = browser.post(
            "/account/language",
            data={"csrf_token": token_of(browser, "/account"), "language": "fr"},
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        assert _language(db, person.email) == "de"
        no_token = browser.post("/account/language", data={"language": "en"})
        assert no_token.status_code == 403
        assert _language(db, person.email) == "de"


def test_a_german_child_s_guardian_is_asked_in_german(client: TestClient, db: Session) -> None:
    """The guardian has no account of their own: the e-mail goes out in the child's language."""
    guardian = unique_email()
    answer = sign_up(
        client,
        email=unique_email(),
        phone=unique_phone(),
        password=PASSWORD,
        age=10,
        guardian_email=guardian,
        language="de",
    )
    assert answer.status_code == 202, answer.text
    row, mail = _mail(db, "account.guardian_consent", guardian)
    assert row.locale == "de"
    assert mail.subject == "Das Konto eines Kindes braucht Ihre Einwilligung"
