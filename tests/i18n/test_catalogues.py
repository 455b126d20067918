"""The completeness gate: each language's catalogue translates every message the source marks, none
fuzzy, with the msgid's placeholders. These fail while a translation is missing: that is their job."""

import pytest

from tests.i18n.catalogues import (
    TRANSLATED_LOCALES,
    Entry,
    copy_source_tree,
    extract_messages,
    missing_messages,
    msgfmt_statistics,
    placeholder_mismatches,
    po_path,
    read_po,
)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """What the source marks today, extracted by makemessages from a copy of the tree."""
    return extract_messages(copy_source_tree(tmp_path_factory.mktemp("extraction") / "tree"))


def catalogue(locale: str) -> list[Entry]:
    path = po_path(locale)
    assert path.exists(), f"{path} does not exist: makemessages -l {locale} (README, 'Languages')"
    return read_po(path)


def test_the_gate_covers_every_language_but_english():
    # Derived from LANGUAGES, so that a language added there is gated too (README, "Languages").
    assert {"it", "zh_Hans", "es", "pt_BR"} <= set(TRANSLATED_LOCALES)
    assert "en" not in TRANSLATED_LOCALES


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_msgfmt_finds_every_message_translated_and_none_fuzzy(locale):
    entries = catalogue(locale)

    statistics = msgfmt_statistics(po_path(locale))

    assert (statistics.fuzzy, statistics.untranslated) == (0, 0), (
        f"{locale}: {statistics}; first ones: {[entry.msgid for entry in entries if not entry.translated][:10]}"
    )
    assert statistics.translated == len(entries)


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_the_catalogue_holds_every_message_the_source_marks(locale, source_messages):
    missing = missing_messages(source_messages, catalogue(locale))

    assert not missing, f"{locale} lacks {len(missing)} message(s), e.g. {missing[:10]}: run makemessages"


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_each_translation_keeps_the_placeholders_of_its_msgid(locale):
    mismatches = {
        entry.msgid: problems
        for entry in catalogue(locale)
        if not entry.fuzzy and (problems := placeholder_mismatches(entry))
    }

    assert not mismatches, f"{locale}: {mismatches}"


PROBE_PYTHON = """from django.utils.translation import gettext_lazy as _, pgettext_lazy

PROBE = _("A sentence the translators have never seen, about %(count)s records.")
PROBE_SHORT = pgettext_lazy("probe", "On")
"""
PROBE_TEMPLATE = """{% load i18n %}
{% blocktranslate count counter=n trimmed %}
  One probe record.
{% plural %}
  {{ counter }} probe records.
{% endblocktranslate %}
"""


def test_a_message_added_without_its_translation_fails_the_gate(tmp_path):
    # A copy whose catalogue is complete: its own extraction, as translators would leave it.
    tree = copy_source_tree(tmp_path / "tree")
    complete = extract_messages(tree)
    assert complete, "the extraction found no message at all"
    assert missing_messages(complete, complete) == []

    (tree / "portal" / "i18n_gate_probe.py").write_text(PROBE_PYTHON)
    (tree / "templates" / "i18n_gate_probe.html").write_text(PROBE_TEMPLATE)
    after = extract_messages(tree)

    assert sorted(missing_messages(after, complete), key=str) == sorted(
        [
            (None, "A sentence the translators have never seen, about %(count)s records.", None),
            ("probe", "On", None),
            (None, "One probe record.", "%(counter)s probe records."),
        ],
        key=str,
    )


PO_HEADER = r"""msgid ""
msgstr ""
"Project-Id-Version: portal\n"
"Report-Msgid-Bugs-To: \n"
"POT-Creation-Date: 2026-01-01 00:00+0000\n"
"PO-Revision-Date: 2026-01-01 00:00+0000\n"
"Last-Translator: Tests <tests@example.com>\n"
"Language-Team: Italian <it@example.com>\n"
"Language: it\n"
"MIME-Version: 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"""

PO_BODY = r"""
#: portal/a.py:1
msgid "Usage data collection"
msgstr "Raccolta dei dati di utilizzo"

#: portal/a.py:2
#, fuzzy, python-format
#| msgid "Old %(name)s"
msgid "Data of %(name)s"
msgstr "Dati di %(name)s"

#: portal/a.py:3
msgctxt "switch"
msgid "On"
msgstr ""

#: portal/a.py:4
#, python-format
msgid "%(count)s record"
msgid_plural "%(count)s records"
msgstr[0] "Un record"
msgstr[1] "%(count)s record"

#~ msgid "Gone"
#~ msgstr "Andato"
"""


def test_the_reader_and_msgfmt_count_translated_fuzzy_and_untranslated(tmp_path):
    path = tmp_path / "django.po"
    path.write_text(PO_HEADER + PO_BODY, encoding="utf-8")

    entries = read_po(path)

    assert [(entry.key, entry.fuzzy, entry.translated) for entry in entries] == [
        ((None, "Usage data collection", None), False, True),
        ((None, "Data of %(name)s", None), True, False),
        (("switch", "On", None), False, False),
        ((None, "%(count)s record", "%(count)s records"), False, True),
    ]
    assert entries[3].msgstr == ("Un record", "%(count)s record")
    statistics = msgfmt_statistics(path)
    assert (statistics.translated, statistics.fuzzy, statistics.untranslated) == (2, 1, 1)


def test_msgfmt_check_refuses_a_broken_catalogue(tmp_path):
    path = tmp_path / "django.po"
    path.write_text(PO_HEADER + '\nmsgid "%(count)s day"\nmsgstr "%(count)d giorni"\n', encoding="utf-8")

    # A python-format string whose conversion changed: gettext's own check must refuse it.
    path.write_text(
        PO_HEADER + '\n#, python-format\nmsgid "%(count)s day"\nmsgstr "%(count)d giorni"\n', encoding="utf-8"
    )
    with pytest.raises(AssertionError, match="msgfmt --check refuses"):
        msgfmt_statistics(path)


@pytest.mark.parametrize(
    ("entry", "problems"),
    [
        (Entry(None, "Hello %(name)s", None, ("Ciao %(name)s",), False), 0),
        (Entry(None, "Hello %(name)s", None, ("Ciao %(nome)s",), False), 1),
        (Entry(None, "Hello %(name)s", None, ("Ciao",), False), 1),
        (Entry(None, "At {time}, %s", None, ("Alle {time}, %s",), False), 0),
        (Entry(None, "At {time}", None, ("Alle {ora}",), False), 1),
        (Entry(None, "%(n)s day", "%(n)s days", ("un giorno", "%(n)s giorni"), False), 0),
        (Entry(None, "%(n)s day", "%(n)s days", ("%(n)s giorno", "giorni"), False), 1),
        (Entry(None, "%(n)s day", "%(n)s days", ("%(x)s giorno", "%(n)s giorni"), False), 1),
        (Entry(None, "%(n)s day", "%(n)s days", ("%(n)s 天",), False), 0),
    ],
)
def test_placeholder_mismatches_are_reported(entry, problems):
    assert len(placeholder_mismatches(entry)) == problems
