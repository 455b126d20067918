"""The portal's translation catalogues as the tests read them: locale/<locale>/LC_MESSAGES/django.po,
GNU gettext's verdict on them, and the messages the source marks today (extracted as makemessages does).

No polib: the suite reads the few PO constructs makemessages writes (msgctxt, msgid, msgid_plural,
msgstr, msgstr[n], the fuzzy flag, obsolete "#~" entries) and nothing else.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import to_locale

# Everything but English, which is the source itself (LANGUAGE_CODE): it, zh_Hans, es, pt_BR.
TRANSLATED_LOCALES = [to_locale(code) for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# What makemessages must not read, as README "Languages" runs it: the suite, the benchmarks and the
# installed packages say nothing to a person using the portal.
EXTRACTION_IGNORES = [".venv", "tests", "benchmarks", "node_modules"]
# Never copied for an extraction: not source, or large.
_NOT_COPIED = {".venv", ".git", "locale", "node_modules", "staticfiles", "test-artifacts", "__pycache__"}
_NOT_COPIED_FILES = {"db.sqlite3", ".dev-secrets.json", ".env"}

PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifgeExXr]|%[sdifr]|\{[A-Za-z_]\w*\}")


@dataclass(frozen=True)
class Entry:
    context: str | None
    msgid: str
    msgid_plural: str | None
    msgstr: tuple[str, ...]  # one string, or one per plural form
    fuzzy: bool

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.context, self.msgid, self.msgid_plural)

    @property
    def translated(self) -> bool:
        return not self.fuzzy and all(self.msgstr)


def po_path(locale: str, *, base: Path | None = None) -> Path:
    return Path(base or settings.BASE_DIR) / "locale" / locale / "LC_MESSAGES" / "django.po"


def read_po(path: Path) -> list[Entry]:
    """The live entries of a PO file (not the header, not obsolete ones), in file order."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    fuzzy = False
    current: str | None = None

    def finish():
        nonlocal fields, fuzzy, current
        if "msgid" in fields and fields["msgid"] != "":
            plural_forms = sorted(
                (int(name[7:-1]), text) for name, text in fields.items() if name.startswith("msgstr[")
            )
            msgstr = tuple(text for _n, text in plural_forms) if plural_forms else (fields.get("msgstr", ""),)
            entries.append(Entry(fields.get("msgctxt"), fields["msgid"], fields.get("msgid_plural"), msgstr, fuzzy))
        fields, fuzzy, current = {}, False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        complete = any(name.startswith("msgstr") for name in fields)
        if not line or line.startswith("#~"):
            if not line:
                finish()
            continue
        # A comment or a new msgid after a msgstr starts the next entry, blank line or not.
        if complete and line.startswith(("#", "msgctxt ", "msgid ")):
            finish()
        if line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line[2:].replace(",", " ").split()
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if current is None:
                raise ValueError(f"{path}: a string continues nothing: {raw!r}")
            fields[current] += ast.literal_eval(line)
        else:
            keyword, _space, text = line.partition(" ")
            current = keyword
            fields[keyword] = ast.literal_eval(text)
    finish()
    return entries


@dataclass(frozen=True)
class Statistics:
    translated: int
    fuzzy: int
    untranslated: int


_STATISTIC = re.compile(r"(\d+) (translated message|fuzzy translation|untranslated message)")


def msgfmt_statistics(path: Path) -> Statistics:
    """`msgfmt --check --statistics`: fails on a malformed catalogue, else its counts (msgfmt prints
    only the non-zero ones, in English whatever the locale)."""
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "--output-file=/dev/null", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C", "LANGUAGE": ""},
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"msgfmt --check refuses {path}:\n{result.stderr}")
    counts = {kind: int(number) for number, kind in _STATISTIC.findall(result.stderr)}
    if not counts:
        raise AssertionError(f"msgfmt printed no statistics for {path}: {result.stderr!r}")
    return Statistics(
        translated=counts.get("translated message", 0),
        fuzzy=counts.get("fuzzy translation", 0),
        untranslated=counts.get("untranslated message", 0),
    )


def copy_source_tree(destination: Path, *, source: Path | None = None) -> Path:
    """The project's source without its catalogues, virtualenv or build output: a tree in which
    makemessages may write."""

    def ignored(directory, names):
        return [name for name in names if name in _NOT_COPIED or name in _NOT_COPIED_FILES]

    shutil.copytree(source or settings.BASE_DIR, destination, ignore=ignored, symlinks=True)
    return destination


def extract_messages(tree: Path) -> list[Entry]:
    """The messages `tree` marks, as makemessages extracts them (same command, same ignores), into a
    throw-away locale of that tree (which must be a copy: makemessages writes into it)."""
    probe_locale = "xx"
    arguments = [sys.executable, "manage.py", "makemessages", "-l", probe_locale, "--verbosity", "0"]
    arguments += [f"--ignore={pattern}" for pattern in EXTRACTION_IGNORES]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "extraction-only-secret",
        "TELEMETRY_HASH_KEY": "extraction-only-hash-key",
        "PYTHONPATH": str(tree),
    }
    (tree / "locale").mkdir(exist_ok=True)
    result = subprocess.run(arguments, cwd=tree, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"makemessages failed in {tree}:\n{result.stdout}\n{result.stderr}")
    return read_po(po_path(probe_locale, base=tree))


def missing_messages(source: list[Entry], catalogue: list[Entry]) -> list[tuple[str | None, str, str | None]]:
    """The source's messages (context, msgid, plural) the catalogue does not hold."""
    held = {entry.key for entry in catalogue}
    return [entry.key for entry in source if entry.key not in held]


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def placeholder_mismatches(entry: Entry) -> list[str]:
    """How a translated entry's placeholders differ from its msgid's (an empty list when they match).

    A plural's last form must hold the plural msgid's placeholders; an earlier form may leave the number
    out ("un record") but may hold no placeholder the msgids lack.
    """
    problems = []
    if entry.msgid_plural is None:
        wanted = placeholders(entry.msgid)
        for text in entry.msgstr:
            if text and placeholders(text) != wanted:
                problems.append(f"{text!r} has {placeholders(text)}, the msgid {wanted}")
        return problems
    allowed = set(placeholders(entry.msgid)) | set(placeholders(entry.msgid_plural))
    for index, text in enumerate(entry.msgstr):
        if not text:
            continue
        extra = set(placeholders(text)) - allowed
        if extra:
            problems.append(f"msgstr[{index}] {text!r} has {sorted(extra)}, which no msgid has")
    last = entry.msgstr[-1]
    if last and set(placeholders(last)) != set(placeholders(entry.msgid_plural)):
        problems.append(f"the last form {last!r} lacks the plural's {placeholders(entry.msgid_plural)}")
    return problems
