"""Language codes, names in their own script, and language names people type."""

from __future__ import annotations

import pytest

from bot.core.languages import find_language_name, is_rtl, language_of, native_name, normalize


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en-US", "en"),
        ("fa-AF", "fa"),
        ("prs", "fa"),
        ("AR", "ar"),
        ("uk_UA", "uk"),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_codes_from_phones_map_to_supported_languages(code, expected):
    assert normalize(code) == expected


def test_names_are_shown_in_their_own_script():
    assert [native_name(code) for code in ("en", "nl", "ar", "fa", "uk", "es")] == [
        "English",
        "Nederlands",
        "العربية",
        "فارسی / دری",
        "Українська",
        "Español",
    ]


def test_right_to_left_languages():
    assert is_rtl("ar") and is_rtl("fa") and not is_rtl("uk")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can we speak arabic", "ar"),
        ("ik wil arabisch", "ar"),
        ("بدي احكي فارسي", "fa"),
        ("liever dari", "fa"),
        ("اوكراني لو سمحت", "uk"),
        ("пиши українською", "uk"),
        ("hablas español?", "es"),
        ("به هلندی", "nl"),
        ("ممكن تكتبلي بالاسباني؟", "es"),
        ("بالعربي لو سمحت", "ar"),
        ("можеш писати іспанською?", "es"),
        ("хочу фарсі", "fa"),
        ("ты говоришь по испански", "es"),
        ("на испанском пожалуйста", "es"),
        ("переключи на нидерландский", "nl"),
        ("по-русски можно", "ru"),
        ("ብስጳንኛ ክትጽሕፈለይ ትኽእል ዶ", "es"),
        ("ብትግርኛ ክዛረብ እደሊ", "ti"),
        ("af soomaali fadlan", "so"),
        ("ich will deutsch", None),
        ("change language", None),
    ],
)
def test_language_names_in_messages(text, expected):
    assert find_language_name(text) == expected


def test_metadata_wins_over_the_slot_and_english_is_last():
    assert language_of({"language": "nl"}, "ar") == "nl"
    assert language_of({}, "ar") == "ar"
    assert language_of(None, None) == "en"
