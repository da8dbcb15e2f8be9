"""Numbers typed into the pages are parsed in one place, and never answer 500.

``str.isdigit()`` is true for Unicode digits (``"²"``) that ``int()`` refuses,
and ``int()`` refuses more than 4,300 digits: the CSRF token's hour bucket, the
sign-up form's age and the console's extend form each answered 500 to such
input.  :func:`doorstep.web.numbers.whole_number` takes ASCII digits only, no
more than its maximum needs, in a range; each form says what is wrong instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.models import RequestStatus
from doorstep.web.numbers import whole_number
from tests.web.clients import page_client, token_of
from tests.web.test_console_access import console_sign_in, csrf_of, open_verified

#: What each form got: a Unicode digit, other non-ASCII digits, a sign, and 4,301+ digits.
CRAFTED = ["²", "٣", "+1", "-1", "1 1", "1_0", "9" * 4301, "9" * 5000]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; a server error comes back as a 500 page."""
    with page_client(runtime, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("7", 7), ("007", 7), ("130", 130), ("131", None), ("", None), (None, None)]
    + [(crafted, None) for crafted in CRAFTED],
)
def test_whole_number_takes_ascii_digits_in_range_only(
    text: str | None, expected: int | None
) -> None:
    assert whole_number(text, minimum=0, maximum=130) == expected


def test_whole_number_never_converts_a_long_string() -> None:
    assert whole_number("1" * 10**6, maximum=10**9) is None
    assert whole_number("12", minimum=13, maximum=99) is None
    with pytest.raises(ValueError):
        whole_number("1", minimum=5, maximum=4)


@pytest.mark.parametrize("bucket", ["²", "١٢", "9" * 5000, "-1", ""])
@pytest.mark.parametrize("path", ["/signin", "/signup", "/verify", "/cookies", "/requests/new"])
def test_a_crafted_csrf_token_is_refused_not_a_server_error(
    client: TestClient, path: str, bucket: str
) -> None:
    answer = client.post(path, data={"csrf_token": f"a.{bucket}.abc"})
    assert answer.status_code == 403, answer.text[:200]  # the CSRF refusal, nothing else


@pytest.mark.parametrize("age", [*CRAFTED, "131"])
def test_the_sign_up_age_must_be_an_age(client: TestClient, db: Session, age: str) -> None:
    email = "typed-age@example.org"
    answer = client.post(
        "/signup",
        data={
            "csrf_token": token_of(client, "/signup"),
            "email": email,
            "password": "a long and unusual passphrase 42",
            "age": age,
        },
    )
    assert answer.status_code == 422, answer.text[:200]
    error = re.search(r'id="f-age-error">([^<]*)<', answer.text)
    assert error is not None and "Enter an age between 0 and 130." in error.group(1)
    assert (
        db.scalar(sa.select(sa.func.count()).select_from(Account).where(Account.email == email))
        == 0
    )


@pytest.mark.parametrize("months", [*CRAFTED, "0", "13"])
def test_the_console_extend_form_takes_a_number_of_months(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime, months: str
) -> None:
    request_id = open_verified(db, runtime)
    console_sign_in(client, db, clock, "privacy_officer")
    token = csrf_of(client.get(f"/console/requests/{request_id}").text)
    answer = client.post(
        f"/console/requests/{request_id}/extend",
        data={"csrf_token": token, "months": months, "reason": "complexity"},
    )
    assert answer.status_code == 422, answer.text[:200]
    error = re.search(r'id="f-months-error">([^<]*)<', answer.text)
    assert error is not None and "Choose a number of months." in error.group(1)
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
