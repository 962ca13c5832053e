"""The translations: complete, with every placeholder kept, and English whenever one is missing."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from bot.core.i18n import Catalogs
from bot.core.languages import SUPPORTED, is_rtl
from bot.core.text_direction import LRM, RLM, mark_right_to_left, starts_left_to_right
from tests.helpers import ROOT

TRANSLATED = [code for code in SUPPORTED if code != "en"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog(language: str):
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def template():
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_is_translated(language):
    po = catalog(language)
    wanted = {(message.context, message.id) for message in template() if message.id}
    translated = {
        (message.context, message.id) for message in po if message.id and message.string and not message.fuzzy
    }
    assert wanted - translated == set()


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_every_placeholder(language):
    for message in catalog(language):
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), message.id


def test_the_template_is_up_to_date_with_the_domain():
    from bot.rasa_plugins.babel_extract import extract_domain

    with (ROOT / "domain" / "responses.yml").open("rb") as handle:
        in_domain = {(context, text) for _, _, (context, text), _ in extract_domain(handle, None, None, None)}
    in_template = {(message.context, message.id) for message in template() if message.id}
    assert in_domain - in_template == set(), "run `make extract`"


def test_the_template_is_up_to_date_with_the_code():
    """A text changed in the code but not extracted would be shown in English to everyone."""
    from babel.messages.extract import extract_from_dir

    in_code = {
        (context, message)
        for directory in ("bot", "actions")
        for _, _, message, _, context in extract_from_dir(ROOT / directory, method_map=[("**.py", "python")])
        if context and isinstance(message, str)
    }
    in_template = {(message.context, message.id) for message in template() if message.id}
    assert in_code - in_template == set(), "run `make extract`"


@pytest.mark.parametrize("language", [code for code in TRANSLATED if is_rtl(code)])
def test_no_right_to_left_line_starts_with_latin_text(language):
    """Telegram would show such a line left to right, in the wrong order."""
    wrong = [
        f"{message.context}: {line}"
        for message in catalog(language)
        if message.id and message.string
        for line in message.string.split("\n")
        if starts_left_to_right(line)
    ]
    for article in sorted((ROOT / "content" / language).glob("*.md")):
        lines = article.read_text(encoding="utf-8").splitlines()
        wrong += [f"{article.name}:{n}: {line}" for n, line in enumerate(lines, 1) if starts_left_to_right(line)]
    assert wrong == [], "start the line with a word in the language (see docs/translators.md)"


def test_right_to_left_replies_get_a_mark_before_a_line_that_starts_in_latin():
    text = "مرحبا\nZelfmoordpreventie: اتصل\nEnglish only, call 113"
    assert mark_right_to_left(text).split("\n") == ["مرحبا", RLM + "Zelfmoordpreventie: اتصل", "English only, call 113"]


def test_phone_numbers_in_right_to_left_replies_are_kept_whole_and_in_reading_order():
    """After Arabic letters, digits are Arabic numbers to the bidirectional algorithm, and
    "0800-0113 / +31-800-0113" would be shown as "0113-0800 / 0113-800-31+"."""
    line = mark_right_to_left("اتصل على 0800-0113 / +31-800-0113 (مجاني) أو 113 Zelfmoordpreventie")
    assert LRM + "0800-0113 / +31-800-0113" + LRM in line and LRM + "113" + LRM + " Zelfmoordpreventie" in line
    link = mark_right_to_left("تحدث في https://www.113.nl أو 113.nl")
    assert "https://www.113.nl" in link and " 113.nl" in link, "a link keeps working"
    numbered = mark_right_to_left("1. تنفس ببطء")
    assert numbered.startswith(RLM), "a line starting with a number still reads right to left"


def test_a_missing_catalog_shows_english(tmp_path):
    assert Catalogs(tmp_path).pgettext("ar", "utter_menu", "Choose a topic.") == "Choose a topic."


def test_a_corrupt_catalog_shows_english_and_is_logged(tmp_path, caplog):
    broken = tmp_path / "fa" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "messages.mo").write_bytes(b"\x00not a catalog at all")
    assert Catalogs(tmp_path).pgettext("fa", "utter_menu", "Choose a topic.") == "Choose a topic."
    assert "unreadable" in caplog.text


def test_an_untranslated_text_shows_english_never_a_key():
    text = "A sentence nobody has translated yet."
    assert Catalogs().pgettext("nl", "utter_new", text) == text


def test_placeholders_use_python_format_names():
    for message in template():
        for _, name, _, _ in string.Formatter().parse(message.id or ""):
            assert name is None or name.isidentifier()
