"""Read a policy pack's YAML files keeping the line of every mapping key.

Messages about a pack say where the problem is, as ``datamap.yaml:42: …``.
:func:`load_yaml` parses like ``yaml.safe_load`` but every mapping is a
:class:`LineDict`: a plain ``dict`` that also knows the 1-based line it starts
on and the line of each of its keys.  :func:`line_of` and :func:`located` read
them; on anything that is not a :class:`LineDict` they answer "no line", so code
that builds packs from plain dicts (tests) keeps working.

:func:`at` is the context in which a pack's reader raises: a
:class:`ConfigurationError` raised inside without a location gets the file and
line of the key, so the innermost ``at`` names the most precise line.
:func:`entry`, :func:`text`, :func:`strings` and :func:`contact` read the shapes
of a pack's values, raising a :class:`ConfigurationError` that names the key.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from doorstep.core.errors import ConfigurationError

#: What every pack error's detail starts with.
PREFIX = "policy pack: "


class LineDict(dict[Any, Any]):
    """A YAML mapping with ``line`` (where it starts) and ``lines`` (key -> line), 1-based."""

    line: int | None = None
    lines: dict[Hashable, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = {}


try:  # libyaml's parser when the wheel has it: the clause catalogue is large
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _LineLoader(_SafeLoader):
    """A safe loader whose mappings are :class:`LineDict`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable):
            data.lines.setdefault(key, key_node.start_mark.line + 1)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(source: Path) -> Any:
    """Parse ``source`` like ``yaml.safe_load``, mappings as :class:`LineDict`.

    Raises ``FileNotFoundError`` for a missing file and :class:`ConfigurationError`
    (``policy pack: NAME:LINE: is not valid YAML (…)``) for a syntax error.
    """
    text = source.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = located(source.name, mark.line + 1 if mark is not None else None)
        reason = str(getattr(exc, "problem", None) or exc).strip()
        raise ConfigurationError(
            f"{PREFIX}{where}is not valid YAML ({reason})", location=where.rstrip(": ")
        ) from None


def line_of(mapping: Any, key: Hashable | None = None) -> int | None:
    """The line of ``key`` in ``mapping`` (of the mapping itself without a key), or None."""
    if not isinstance(mapping, LineDict):
        return None
    if key is None:
        return mapping.line
    return mapping.lines.get(key)


def located(name: str, line: int | None) -> str:
    """``"datamap.yaml:42: "`` (``"datamap.yaml: "`` when the line is unknown)."""
    return f"{name}:{line}: " if line is not None else f"{name}: "


@contextmanager
def at(name: str, mapping: Any, key: Hashable | None = None) -> Iterator[None]:
    """Give a :class:`ConfigurationError` raised inside the location of ``key`` in ``mapping``.

    An error that already has a location keeps it (an inner ``at`` was more
    precise); so does one raised where no line is known.
    """
    try:
        yield
    except ConfigurationError as exc:
        line = line_of(mapping, key)
        if exc.fields.get("location") or line is None:
            raise
        where = located(name, line)
        raise ConfigurationError(
            PREFIX + where + exc.detail.removeprefix(PREFIX), location=where.rstrip(": ")
        ) from None


# The shapes of a pack's values: each raises ConfigurationError naming ``where``.


def entry(value: Any, where: str) -> dict[str, Any]:
    """A mapping (empty for a missing value)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"policy pack: {where} must be a mapping")
    return value


def text(value: Any, where: str) -> str:
    """A text (numbers read as text; empty for a missing value), stripped."""
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise ConfigurationError(f"policy pack: {where} must be text")
    return str(value).strip()


def strings(value: Any, where: str) -> tuple[str, ...]:
    """A list of texts (empty for a missing value)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"policy pack: {where} must be a list of strings")
    return tuple(value)


def contact(spec: Any, where: str, *, required: tuple[str, ...]) -> dict[str, str]:
    """``name``, ``email`` and ``address`` of a contact; the ``required`` ones non-empty."""
    if not isinstance(spec, dict):
        raise ConfigurationError(f"policy pack: '{where}' must be a mapping")
    values = {
        name: text(spec.get(name), f"{where}.{name}") for name in ("name", "email", "address")
    }
    for name in required:
        if not values[name]:
            raise ConfigurationError(f"policy pack: '{where}' has no {name}")
    return values
