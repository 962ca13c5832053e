"""The safety screen: recall per language, false alarms, robustness to how people type, and the
crisis answer in the person's language even when Rasa is unreachable."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import yaml

from bot.conversation.assistant import Assistant
from bot.conversation.rasa_client import RasaClient
from bot.core.i18n import Catalogs
from bot.core.languages import SUPPORTED
from bot.core.safety import Level, SafetyScreen
from bot.core.safety.evaluation import evaluate, report
from bot.core.safety.examples import HELDOUT_DIR, load_dir
from bot.core.safety.lexicon import LexiconError
from bot.core.safety.normalize import normalize
from bot.storage.users import MemoryUserStore
from tests.conversation import looks_written_in
from tests.helpers import ROOT, base_env, free_port

SCREEN = SafetyScreen.load()
RISK_INTENTS = {"express_acute_risk", "express_distress"}  # the Rasa net's examples are risk, not everyday
RESULTS = evaluate(SCREEN, ROOT / "tests" / "safety")


def test_every_language_has_an_evaluation_set():
    assert set(RESULTS) == set(SUPPORTED), report(RESULTS)


def test_no_check_set_message_is_a_held_out_or_validation_message():
    """The word lists are tuned on tests/safety/<lang>.yml; the sets that measure them must stay unseen."""
    unseen = {normalize(e.text) for d in (HELDOUT_DIR, ROOT / "tests" / "safety" / "validation") for e in load_dir(d)}
    tuned = [
        f"{path.name}: {message}"
        for path in sorted((ROOT / "tests" / "safety").glob("*.yml"))
        for messages in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).values()
        for message in messages
        if normalize(message) in unseen
    ]
    assert not tuned, "write a different message of the same kind:\n" + "\n".join(tuned)


def test_every_acute_message_is_caught(language):
    assert RESULTS[language].recall("acute") == 1.0, report({language: RESULTS[language]})


def test_distress_recall_is_at_least_95_percent(language):
    assert RESULTS[language].recall("distress") >= 0.95, report({language: RESULTS[language]})


def test_false_alarms_on_idioms_and_everyday_messages_are_at_most_3_percent(language):
    assert RESULTS[language].false_alarm_rate <= 0.03, report({language: RESULTS[language]})


def test_everyday_messages_of_the_nlu_data_raise_almost_no_alarm(capsys):
    messages = []
    for path in [*ROOT.glob("nlu/*/nlu.yml"), *ROOT.glob("tests/nlu/*.yml")]:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if block["intent"] in RISK_INTENTS:
                continue
            messages += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    alarms = [message for message in messages if SCREEN.assess(message).is_risk]
    with capsys.disabled():
        print(f"\nSafety screen on {len(messages)} everyday messages: {len(alarms)} alarms")
    assert len(alarms) / len(messages) <= 0.03, alarms


@pytest.mark.parametrize(
    "message",
    [
        "بــدي مــوت",  # tatweel
        "بدي\u200c موت",  # zero-width non-joiner
        "أريد أن أموت",  # hamza forms
        "أُرِيدُ أَنْ أَمُوتَ",  # vowel marks
        "ميخوام بميرم",  # Arabic ي instead of Persian ی
        "می‌خوام بمیرم",  # Persian with ZWNJ
        "می خوام بمیرم",  # Persian with a space
        "I WANT TO DIE",
        "i want to dieeee",
        "Quiero morír",
        "хочу померти!!!",
    ],
)
def test_spelling_variants_are_still_caught(message):
    assert SCREEN.assess(message).level is Level.ACUTE


def test_someone_else_at_risk_is_recognised_as_such():
    assessment = SCREEN.assess("my friend keeps talking about suicide")
    assert assessment.level is Level.THIRD_PARTY


def test_a_broken_lexicon_stops_start_up_with_its_file_name(tmp_path):
    for code in SUPPORTED:
        (tmp_path / f"{code}.yml").write_text("acute:\n  suicidal_thoughts:\n    - want to die\n")
    (tmp_path / "fa.yml").write_text("acute: [unclosed")
    with pytest.raises(LexiconError, match=r"fa\.yml"):
        SafetyScreen.load(tmp_path)
    (tmp_path / "fa.yml").unlink()
    with pytest.raises(LexiconError, match=r"fa\.yml is missing"):
        SafetyScreen.load(tmp_path)


def test_safety_check_prints_one_decision_per_line():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "safety-check", "--lang", "nl", "--no-nlu"],
        cwd=ROOT,
        env=base_env(),
        input="hallo\nik wil dood\nمیخوام بمیرم\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["level"] for d in decisions] == ["none", "acute", "acute"]
    assert [d["reply_language"] for d in decisions[1:]] == ["nl", "fa"]


def crisis_conversation(language: str, messages: list[str]) -> list[list]:
    """The front end with Rasa unreachable: the crisis answer must not need it."""

    async def go():
        client = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=2)
        assistant = Assistant(client, MemoryUserStore(), Catalogs())
        assistant.users.set_language("person", language)
        try:
            return [await assistant.handle_text("person", message) for message in messages]
        finally:
            await client.close()

    return asyncio.run(go())


ACUTE = {
    "en": "I want to die",
    "nl": "ik wil dood",
    "ar": "بدي موت",
    "fa": "میخوام بمیرم",
    "uk": "хочу померти",
    "es": "quiero morirme",
    "ti": "ብሓቂ ክመውት ደልየ",
    "so": "waxaan rabaa inaan dhinto",
    "ru": "хочу умереть",
}


def test_acute_risk_gets_the_numbers_and_the_gp_route_in_the_persons_language_without_rasa(language):
    crisis, after_residence = crisis_conversation(language, [ACUTE[language], "/residence azc"])
    text = "\n".join(reply.text for reply in crisis)
    assert "112" in text and "0800-0113" in text and "113.nl" in text
    assert all(reply.language == language for reply in crisis)
    assert looks_written_in(language, text)
    assert [b.payload for r in crisis for b in r.buttons][:2] == ["/residence azc", "/residence municipality"]
    assert "088-1122112" in "\n".join(reply.text for reply in after_residence)


def test_a_crisis_message_in_another_language_is_answered_in_that_language():
    [crisis] = crisis_conversation("en", ["بدي موت"])
    assert all(reply.language == "ar" for reply in crisis)


def test_the_gp_route_is_asked_once_and_remembered():
    first, _, later = crisis_conversation("en", ["I want to die", "/residence municipality", "I can't stop crying"])
    assert any(b.payload == "/residence azc" for r in first for b in r.buttons)
    later_text = "\n".join(reply.text for reply in later)
    assert "huisartsenpost" in later_text
    assert not any(b.payload.startswith("/residence") for r in later for b in r.buttons)


def test_distress_gets_the_gp_message_first_then_the_crisis_line_but_not_the_emergency_number():
    [replies] = crisis_conversation("en", ["I haven't slept for days and I can't stop crying"])
    text = "\n".join(reply.text for reply in replies)
    assert "doctor" in text and "112" not in text
    assert text.index("doctor") < text.index("0800-0113"), "the doctor first"
    assert "113.nl" in text, "signs of distress overlap with thoughts nobody said aloud: 113 too"
    assert "/ask_stress" in [b.payload for r in replies for b in r.buttons]


def test_someone_who_would_rather_not_say_where_they_live_gets_both_doctor_routes(language):
    crisis, after = crisis_conversation(language, [ACUTE[language], "/residence other"])
    assert "/residence other" in [b.payload for r in crisis for b in r.buttons]
    text = "\n".join(reply.text for reply in after)
    assert "088-1122112" in text and "huisartsenpost" in text
    assert looks_written_in(language, text)


def test_the_question_where_someone_lives_says_no_address_is_needed():
    [crisis] = crisis_conversation("en", [ACUTE["en"]])
    question = next(r.text for r in crisis if any(b.payload.startswith("/residence") for b in r.buttons))
    assert "do not need your address" in question


def test_phone_numbers_are_shown_in_the_international_form_too_and_the_chat_as_a_link():
    [crisis] = crisis_conversation("en", [ACUTE["en"]])
    text = "\n".join(reply.text for reply in crisis)
    assert "+31-800-0113" in text and "https://www.113.nl" in text


def test_someone_else_at_risk_gets_guidance_for_helpers():
    [replies] = crisis_conversation("es", ["mi hermano se quiere matar"])
    text = "\n".join(reply.text for reply in replies)
    assert "112" in text and "ayudar" in text
    assert "/help_someone" in [b.payload for r in replies for b in r.buttons]


def test_after_a_crisis_the_assistant_checks_in_once_even_after_start():
    from bot.core.safety.responses import check_in

    expected = check_in(Catalogs(), "ar")[0][0]
    answers = crisis_conversation("ar", ["بدي موت", "/start", "شكرا", "مرحبا", "مرحبا", "مرحبا"])
    texts = [[reply.text for reply in replies] for replies in answers]
    assert [expected in answer for answer in texts] == [False, False, False, True, False, False]
    assert texts[3][0] == expected and "113" in expected and looks_written_in("ar", expected)
    assert "0800-0113" in expected, "the free number: many people have prepaid phones without credit"


def test_someone_asking_for_a_friend_is_not_checked_in_on_as_if_in_crisis():
    answers = crisis_conversation("en", ["my friend wants to kill himself", "ok", "thanks", "hello", "hello"])
    assert all("Earlier you told me" not in reply.text for replies in answers for reply in replies)
