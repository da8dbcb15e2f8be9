"""The fideslang taxonomy: valid data categories, data uses and data subjects."""

from __future__ import annotations

from functools import cache


@cache
def _taxonomy() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return (
        frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_category),
        frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_use),
        frozenset(item.fides_key for item in DEFAULT_TAXONOMY.data_subject),
    )


def data_categories() -> frozenset[str]:
    """Every fideslang data-category key (``user.contact.email`` …)."""
    return _taxonomy()[0]


def data_uses() -> frozenset[str]:
    """Every fideslang data-use key (``essential.service`` …)."""
    return _taxonomy()[1]


def data_subjects() -> frozenset[str]:
    """Every fideslang data-subject key (``customer`` …)."""
    return _taxonomy()[2]


@cache
def _names() -> dict[str, dict[str, str]]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return {
        kind: {item.fides_key: item.name or item.fides_key for item in items}
        for kind, items in (
            ("category", DEFAULT_TAXONOMY.data_category),
            ("use", DEFAULT_TAXONOMY.data_use),
            ("subject", DEFAULT_TAXONOMY.data_subject),
        )
    }


def category_name(key: str) -> str:
    """The taxonomy's human name of a data category (``User Contact Email``), else the key."""
    return _names()["category"].get(key, key)


def use_name(key: str) -> str:
    """The taxonomy's human name of a data use (``Essential for Service``), else the key."""
    return _names()["use"].get(key, key)


def subject_name(key: str) -> str:
    """The taxonomy's human name of a data subject (``Customer``), else the key."""
    return _names()["subject"].get(key, key)
