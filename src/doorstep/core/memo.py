"""Memoise a function on the *identity* of its arguments.

For values built once per process from objects that are unhashable or compare
by value (a policy pack holds dicts; a schema's ``MetaData``): SQL statements
compiled from the schema, README sections.  The arguments are kept alive by the
cache entry, so an id is never reused while its entry lives; a cache holds few
entries (one per schema and pack in production, a few more in tests).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def by_identity(function: Callable[P, R]) -> Callable[P, R]:
    """Cache ``function``'s result per tuple of argument identities (positional only).

    Strings and integers are keyed by value, everything else by identity.
    """
    entries: dict[tuple[object, ...], tuple[tuple[Any, ...], R]] = {}

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:
            raise TypeError(f"{function.__name__} is memoised on positional arguments only")
        key = tuple(arg if isinstance(arg, str | int) else id(arg) for arg in args)
        found = entries.get(key)
        if found is None:
            found = (tuple(args), function(*args, **kwargs))
            entries[key] = found
        return found[1]

    return wrapper
