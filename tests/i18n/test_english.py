"""The "no English left" helper itself, on a small catalogue: what it finds and what it lets be."""

from tests.i18n.english import english_sentences, visible_text

CATALOGUE = r"""msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Usage data collection"
msgstr "Raccolta dei dati di utilizzo"

msgid "Turning it off stops usage data for %(tenant)s and every user in it."
msgstr "Disattivarla interrompe i dati di utilizzo per %(tenant)s e ogni suo utente."

msgid "Options > General tab"
msgstr "Scheda Opzioni > Generale"

msgid "Not yet translated sentence"
msgstr ""

#, fuzzy
msgid "A fuzzy translation shows English"
msgstr "Una traduzione approssimativa"

msgid "Skype for Business"
msgstr "Skype for Business"

msgid "Set in <strong>Skype for Business Online</strong> by the tenant"
msgstr "Impostato in <strong>Skype for Business Online</strong> dal tenant"

msgid "Log out"
msgstr "Esci"

msgid "Sent by the Meetings App and join launcher"
msgstr "Inviati dalla Meetings App and join launcher"

msgid "%(count)s Meetings App and join launcher"
msgstr "%(count)s Meetings App and join launcher"

msgid "Not yet: Meetings App and join launcher"
msgstr ""

msgid "%(count)s record was dropped"
msgid_plural "%(count)s records were dropped"
msgstr[0] "%(count)s record scartato"
msgstr[1] "%(count)s record scartati"
"""


def found(tmp_path, text):
    path = tmp_path / "django.po"
    path.write_text(CATALOGUE, encoding="utf-8")
    return english_sentences(text, "it", catalogue=path)


def test_a_translated_page_has_no_english_left(tmp_path):
    page = "Raccolta dei dati di utilizzo. Disattivarla interrompe i dati di utilizzo per Contoso e ogni suo utente."
    assert found(tmp_path, page) == []


def test_an_english_sentence_is_found_around_its_placeholders(tmp_path):
    page = "Raccolta dei dati  Turning it OFF stops usage data for\n Contoso and every user in it."
    assert found(tmp_path, page) == ["Turning it off stops usage data for %(tenant)s and every user in it."]


def test_untranslated_and_fuzzy_messages_count_as_english(tmp_path):
    page = "not yet translated sentence / A fuzzy translation shows English"
    assert found(tmp_path, page) == ["Not yet translated sentence", "A fuzzy translation shows English"]


def test_names_a_translation_keeps_and_short_words_are_not_english_left(tmp_path):
    # "Skype for Business" is its own translation; "Log out" has two words; "Skype for Business Online"
    # is kept inside its translation (markup split it off); "Usage data" alone is a fragment of nothing.
    page = "Skype for Business Online, Skype for Business, Log out, Usage data"
    assert found(tmp_path, page) == []


def test_english_another_translation_keeps_is_not_english_left(tmp_path):
    # The translators keep "Meetings App and join launcher" (a product's name) in other messages: on a
    # page it is no leftover. The untranslated message around it still is.
    assert found(tmp_path, "Inviati dalla Meetings App and join launcher") == []
    assert found(tmp_path, "Not yet: Meetings App and join launcher") == ["Not yet: Meetings App and join launcher"]


def test_a_plural_is_found_in_either_form(tmp_path):
    assert found(tmp_path, "12 records were dropped") == ["%(count)s record was dropped"]


def test_visible_text_reads_what_a_person_reads_or_hears():
    page = """<html><head><title>Title words here</title><style>.x { content: "style words here" }</style>
    <script src="a.js">ignored script words</script></head><body>
    <p>Body words <b>in bold</b></p><button aria-label="Spoken label words">x</button>
    <input type="submit" value="Submit button words"><input type="hidden" name="next" value="hidden path words">
    <div data-empty-message="Data attribute words"></div>
    <script type="application/json" id="chart">
      {"title": "Chart title words", "points": [1, 2], "legend": ["Legend words"]}
    </script>
    </body></html>"""

    text = " ".join(visible_text(page).split())

    for shown in ["Title words here", "Body words", "in bold", "Spoken label words", "Submit button words"]:
        assert shown in text
    for shown in ["Data attribute words", "Chart title words", "Legend words"]:
        assert shown in text
    for hidden in ["style words", "ignored script words", "hidden path words"]:
        assert hidden not in text
