"""Named message templates, rendered by plain substitution of ``{name}`` fields.

A template has a subject (an e-mail's subject, a push notification's title), a
plain-text body (e-mail text part, SMS text, push body) and optionally an HTML
body.  Its fields are bare names, ``{code}``: the template is parsed once with
:class:`string.Formatter` and anything else (``{user.email}``, ``{0}``,
``{code!r}``, ``{code:>10}``) is refused when it is registered, so rendering is
a join of literal text and parameter values: no attribute or item access can
ever run.  ``{{`` and ``}}`` are literal braces.  Values are HTML-escaped in the
HTML body.

Rendering checks parameters strictly (:func:`TemplateRegistry.render`): every
field must be given, and nothing else, as text; so a typo fails at queue time,
and the outbox never stores a parameter no template uses.

Translations: templates are registered per locale; every locale of a key must
use the same fields.  A locale without a translation falls back to
:data:`DEFAULT_LOCALE`.  A key's *worded* fields take message ids (a refusal
reason): rendered in another locale, their values go through that locale's
catalogue (:mod:`doorstep.locale`); a value that is no message id stays as it is.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape as escape_html
from typing import cast

from doorstep.locale import translations
from doorstep.notify.exceptions import TemplateParamsError, UnknownTemplateError

DEFAULT_LOCALE = "en"
MAX_PARAM_LENGTH = 2_000
_KEY = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")
_LOCALE = re.compile(r"^(?:[a-z]{2,3}|x)(?:-[A-Za-z0-9]{2,8})*$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")

#: One piece of a parsed text: a literal, or (``None``, field name).
_Piece = tuple[str, str | None]


def _parse(text: str, where: str) -> tuple[tuple[_Piece, ...], frozenset[str]]:
    pieces: list[_Piece] = []
    fields: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"template {where}: {exc}") from None
    for literal, name, spec, conversion in parsed:
        if literal:
            pieces.append((literal, None))
        if name is None:
            continue
        if not _FIELD.match(name) or spec or conversion:
            raise ValueError(f"template {where}: field {{{name}}} must be a bare lowercase name")
        pieces.append(("", name))
        fields.add(name)
    return tuple(pieces), frozenset(fields)


def _fill(pieces: tuple[_Piece, ...], params: Mapping[str, str], *, escape: bool) -> str:
    return "".join(
        literal if name is None else (escape_html(params[name]) if escape else params[name])
        for literal, name in pieces
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered message: subject (or title), plain text, and HTML when the template has it."""

    subject: str
    text: str
    html: str | None


@dataclass(frozen=True, slots=True)
class Template:
    """One template in one locale, parsed."""

    key: str
    locale: str
    fields: frozenset[str]
    _subject: tuple[_Piece, ...]
    _text: tuple[_Piece, ...]
    _html: tuple[_Piece, ...] | None

    @classmethod
    def parse(cls, key: str, locale: str, subject: str, text: str, html: str | None) -> Template:
        """Parse and check the texts; raise ValueError naming the key on a bad field."""
        where = f"{key} ({locale})"
        parsed_subject, subject_fields = _parse(subject, where)
        parsed_text, text_fields = _parse(text, where)
        parsed_html, html_fields = _parse(html, where) if html is not None else (None, frozenset())
        if "\n" in subject or "\r" in subject:
            raise ValueError(f"template {where}: the subject must be one line")
        return cls(
            key,
            locale,
            subject_fields | text_fields | html_fields,
            parsed_subject,
            parsed_text,
            parsed_html,
        )

    def render(self, params: Mapping[str, str]) -> Rendered:
        """Fill in ``params`` (already checked by the registry)."""
        subject = _fill(self._subject, params, escape=False)
        if "\n" in subject or "\r" in subject:
            raise TemplateParamsError(
                "a parameter used in the subject holds a line break",
                template=self.key,
                rule="single_line_subject",
            )
        return Rendered(
            subject=subject,
            text=_fill(self._text, params, escape=False),
            html=None if self._html is None else _fill(self._html, params, escape=True),
        )


class TemplateRegistry:
    """Templates by key and locale.  Registration happens at start; lookups are read-only."""

    def __init__(self) -> None:
        self._templates: dict[str, dict[str, Template]] = {}
        self._worded: dict[str, frozenset[str]] = {}

    def register(
        self,
        key: str,
        *,
        subject: str,
        text: str,
        html: str | None = None,
        locale: str = DEFAULT_LOCALE,
        worded: Iterable[str] = (),
    ) -> None:
        """Add ``key`` in ``locale``; a key's locales must share their fields.

        ``worded``: fields whose values are message ids, translated when rendered in
        another locale (given with the first, default-locale registration).
        """
        if not _KEY.match(key):
            raise ValueError(f"template key {key!r} must be dotted lowercase names")
        if not _LOCALE.match(locale):
            raise ValueError(f"template {key}: locale {locale!r} is not a language tag")
        template = Template.parse(key, locale, subject, text, html)
        variants = self._templates.setdefault(key, {})
        if locale in variants:
            raise ValueError(f"template {key} ({locale}) is registered twice")
        other = next(iter(variants.values()), None)
        if other is not None and other.fields != template.fields:
            raise ValueError(f"template {key} ({locale}) uses other fields than ({other.locale})")
        if other is None and locale != DEFAULT_LOCALE:
            raise ValueError(f"template {key}: register the {DEFAULT_LOCALE} text first")
        variants[locale] = template
        if locale == DEFAULT_LOCALE:
            self._worded[key] = frozenset(worded) & template.fields

    def keys(self) -> list[str]:
        """Every template key, sorted."""
        return sorted(self._templates)

    def fields(self, key: str) -> frozenset[str]:
        """The parameters ``key`` needs; UnknownTemplateError for an unknown key."""
        return self._variants(key)[DEFAULT_LOCALE].fields

    def locales(self, key: str) -> list[str]:
        """The locales ``key`` is translated into."""
        return sorted(self._variants(key))

    def render(
        self, key: str, params: Mapping[str, object], *, locale: str = DEFAULT_LOCALE
    ) -> Rendered:
        """Render ``key`` in ``locale`` (or the default) after checking ``params``.

        Raises :class:`UnknownTemplateError` or :class:`TemplateParamsError`; the
        errors name the template and the parameter, never a value.
        """
        variants = self._variants(key)
        template = variants.get(locale) or variants[DEFAULT_LOCALE]
        check_params(key, template.fields, params)
        values = cast("Mapping[str, str]", params)  # checked: all text
        worded = self._worded.get(key, frozenset())
        if template.locale != DEFAULT_LOCALE and worded:
            gettext = translations(template.locale).gettext
            values = {name: gettext(v) if name in worded else v for name, v in values.items()}
        return template.render(values)

    def _variants(self, key: str) -> dict[str, Template]:
        variants = self._templates.get(key)
        if variants is None:
            raise UnknownTemplateError("no message template has this key", template=key)
        return variants


def check_params(key: str, fields: Iterable[str], params: Mapping[str, object]) -> None:
    """Raise :class:`TemplateParamsError` unless ``params`` are exactly ``fields``, as text."""
    wanted = frozenset(fields)
    missing = sorted(wanted - set(params))
    if missing:
        raise TemplateParamsError(
            "a parameter the template needs is missing",
            template=key,
            param=missing[0],
            rule="required",
            expected=sorted(wanted),
        )
    extra = sorted(set(params) - wanted)
    if extra:
        raise TemplateParamsError(
            "the template does not use this parameter",
            template=key,
            param=str(extra[0])[:64],
            rule="unexpected",
            expected=sorted(wanted),
        )
    for name in sorted(wanted):
        value = params[name]
        if not isinstance(value, str):
            raise TemplateParamsError(
                "parameters must be text", template=key, param=name, rule="text"
            )
        if len(value) > MAX_PARAM_LENGTH:
            raise TemplateParamsError(
                "the parameter is too long", template=key, param=name, rule="max_length"
            )
