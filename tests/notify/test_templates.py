"""Templates: every shipped one renders; substitution is plain and strict."""

from __future__ import annotations

import pytest

from doorstep.notify.catalogue import default_templates
from doorstep.notify.exceptions import TemplateParamsError, UnknownTemplateError
from doorstep.notify.templates import TemplateRegistry

SHIPPED = {
    "account.verify_email": {"code"},
    "account.verify_phone": {"code"},
    "account.password_reset": {"code"},
    "account.guardian_consent": {"link"},
    "account.signup_attempt": set(),
    "account.deregistered": set(),
    "account.deregistration_refused": set(),
    "device.bound": {"device"},
    "request.received": {"reference", "due"},
}


def test_the_shipped_templates_and_their_parameters() -> None:
    registry = default_templates()
    assert {key: set(registry.fields(key)) for key in registry.keys()}  # noqa: SIM118 - not a dict == SHIPPED


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_every_shipped_template_renders_every_parameter(key: str) -> None:
    params = {name: f"<{name}-value>" for name in SHIPPED[key]}
    rendered = default_templates().render(key, params)
    assert rendered.subject and "\n" not in rendered.subject
    for value in params.values():
        assert value in rendered.text
        if rendered.html is not None:
            assert value not in rendered.html, "values are escaped in HTML"
            assert value.replace("<", "&lt;").replace(">", "&gt;") in rendered.html
    assert "{" not in rendered.text


def test_the_code_lands_in_text_and_html() -> None:
    rendered = default_templates().render("account.verify_email", {"code": "482913"})
    assert "482913" in rendered.text
    assert rendered.html is not None and "<strong>482913</strong>" in rendered.html


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(UnknownTemplateError) as caught:
        default_templates().render("account.no_such_thing", {})
    assert caught.value.fields == {"template": "account.no_such_thing"}


def test_a_missing_parameter_is_named() -> None:
    with pytest.raises(TemplateParamsError) as caught:
        default_templates().render("request.received", {"reference": "R-1"})
    assert caught.value.fields["param"] == "due"
    assert caught.value.fields["rule"] == "required"


def test_an_unexpected_parameter_is_refused_and_not_echoed() -> None:
    secret = "someone@example.org"
    with pytest.raises(TemplateParamsError) as caught:
        default_templates().render("account.verify_email", {"code": "1", "email": secret})
    assert caught.value.fields["param"] == "email"
    assert secret not in str(caught.value) and secret not in repr(caught.value.fields)


def test_parameters_must_be_text() -> None:
    with pytest.raises(TemplateParamsError, match="text"):
        default_templates().render("account.verify_email", {"code": 123456})


def test_a_line_break_cannot_reach_a_subject() -> None:
    registry = TemplateRegistry()
    registry.register("x.subject", subject="About {device}", text="{device}")
    with pytest.raises(TemplateParamsError) as caught:
        registry.render("x.subject", {"device": "router\r\nBcc: someone@example.org"})
    assert caught.value.fields["rule"] == "single_line_subject"


@pytest.mark.parametrize(
    "text",
    ["{user.email}", "{code[0]}", "{0}", "{}", "{code!r}", "{code:>10}", "{Code}", "{code"],
)
def test_only_bare_names_are_fields(text: str) -> None:
    with pytest.raises(ValueError, match=r"x\.bad"):
        TemplateRegistry().register("x.bad", subject="s", text=text)


def test_braces_can_be_literal() -> None:
    registry = TemplateRegistry()
    registry.register("x.braces", subject="s", text="{{not a field}} {code}")
    assert registry.render("x.braces", {"code": "7"}).text == "{not a field} 7"


def test_translations_fall_back_to_english_and_share_fields() -> None:
    registry = TemplateRegistry()
    registry.register("x.hello", subject="Hello", text="Code {code}")
    registry.register("x.hello", subject="Hallo", text="Code {code}", locale="de")
    assert registry.render("x.hello", {"code": "1"}, locale="de").subject == "Hallo"
    assert registry.render("x.hello", {"code": "1"}, locale="fr").subject == "Hello"
    assert registry.locales("x.hello") == ["de", "en"]
    with pytest.raises(ValueError, match="other fields"):
        registry.register("x.hello", subject="Bonjour", text="{link}", locale="fr")
    with pytest.raises(ValueError, match="first"):
        registry.register("x.only_german", subject="Hallo", text="", locale="de")
    with pytest.raises(ValueError, match="twice"):
        registry.register("x.hello", subject="Hello", text="Code {code}")
