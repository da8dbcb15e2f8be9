"""Checks the page tests share: text left untranslated, and labels, headings and language.

* :func:`untranslated` — visible text of a page rendered in the pseudo-locale that
  did not go through translation (data in ``code``, ``time``, ``pre``, table and
  definition cells, or under ``translate="no"``, is exempt);
* :data:`CHECK_PAGE` — a script for ``page.evaluate``: every control labelled,
  images with ``alt``, one ``h1``, no skipped heading level, a ``lang``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Visible(HTMLParser):
    """Collects visible text nodes that are not marked as translated and are not data."""

    DATA = frozenset({"code", "time", "pre", "script", "style", "title", "option", "td", "dd"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.untranslated: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"input", "meta", "link", "br", "img", "hr", "source"}:
            return
        exempt = tag in self.DATA or ("translate", "no") in attrs
        self.stack.append((tag, exempt or any(e for _, e in self.stack[-1:])))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        text = data.strip()
        inside = bool(self.stack) and self.stack[-1][1]
        brand = text == "Doorstep" or text.startswith("Doorstep ")
        if text and not inside and not brand and "⟦" not in text and re.search("[A-Za-z]{3}", text):
            self.untranslated.append(text)


def untranslated(html: str) -> list[str]:
    """Visible text of ``html`` that did not go through translation."""
    parser = _Visible()
    parser.feed(html)
    return parser.untranslated


CHECK_PAGE = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push('unlabelled ' + el.tagName + ' ' + (el.name || ''));
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('image without alt');
  }
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1 headings');
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) problems.push('heading jumps to ' + h.tagName);
    last = level;
  }
  if (!document.documentElement.lang) problems.push('no lang');
  return problems;
}"""
