"""The "no English left" check: which of the portal's own English sentences a page still shows.

A sentence is a msgid of the language's catalogue with at least three words whose translation differs
from it (an untranslated or fuzzy one included: gettext shows its English). Split on its placeholders,
each fragment of three words or more is looked for in the page's text, whitespace and case aside (a
browser's innerText applies CSS text-transform). A fragment that some translation of the catalogue
keeps as it is (a product name, "Options > General") is not English left over.
"""

import html
import json
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from django.utils.translation import to_locale

from tests.i18n.catalogues import PLACEHOLDER, po_path, read_po

MIN_WORDS = 3
_MARKUP = re.compile(r"<[^>]+>")


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Sentence:
    msgid: str
    fragments: tuple[str, ...]  # normalized


@cache
def _sentences(path: Path, modified: float) -> tuple[Sentence, ...]:
    sentences = []
    entries = read_po(path)
    # English the translations themselves keep (product names, "Options > General", setting names).
    kept = "\n".join(_normal(" ".join(entry.msgstr)) for entry in entries if entry.translated)
    for entry in entries:
        fragments = []
        for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
            if len(msgid.split()) < MIN_WORDS or (entry.translated and msgid in entry.msgstr):
                continue
            # Placeholders and markup both cut a sentence: the page shows something else there.
            pieces = re.split(f"{PLACEHOLDER.pattern}|{_MARKUP.pattern}", html.unescape(msgid))
            fragments += [
                fragment
                for piece in pieces
                if len((fragment := _normal(piece)).split()) >= MIN_WORDS and fragment not in kept
            ]
        if fragments:
            sentences.append(Sentence(entry.msgid, tuple(fragments)))
    return tuple(sentences)


def english_sentences(text: str, language: str, *, catalogue: Path | None = None) -> list[str]:
    """The msgids of `language` (a language code, "pt-br") whose English is in `text`, each once.
    `catalogue` replaces the language's own .po (the helper's tests)."""
    path = catalogue or po_path(to_locale(language))
    if not path.exists():
        raise AssertionError(f"{path} does not exist: no catalogue to compare the page with")
    page = _normal(text)
    return [
        sentence.msgid
        for sentence in _sentences(path, path.stat().st_mtime)
        if any(fragment in page for fragment in sentence.fragments)
    ]


class _VisibleText(HTMLParser):
    """The text a person reads or hears: element text, and the attributes shown or spoken in its place."""

    SPOKEN = ("aria-label", "title", "placeholder", "alt")
    HIDDEN = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0
        self.in_json = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") == "application/json":
            # json_script: the words dashboard.js shows (chart titles, legends) come from the template.
            self.in_json = True
        elif tag in self.HIDDEN:
            self.hidden_depth += 1
        self.parts.extend(attributes[name] for name in self.SPOKEN if attributes.get(name))
        # data-* attributes carry the other words the script shows.
        self.parts.extend(value for name, value in attrs if name.startswith("data-") and value)
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag == "script" and self.in_json:
            self.in_json = False
        elif tag in self.HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data):
        if self.in_json:
            self.parts.extend(_json_strings(json.loads(data)))
        elif not self.hidden_depth:
            self.parts.append(data)


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _json_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _json_strings(item)]
    return []


def visible_text(page_html: str) -> str:
    parser = _VisibleText()
    parser.feed(page_html)
    parser.close()
    return " \n ".join(parser.parts)
