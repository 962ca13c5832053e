"""The whole safety screen: the model net beside the lexicons, three outcomes (reply, question,
none), the person's recent messages as context, and a screen that still works when the model
cannot load. Fast: no Rasa, no bot process."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from bot.conversation.assistant import ERASE_CONFIRMED, Assistant
from bot.conversation.rasa_client import RasaClient
from bot.core.i18n import Catalogs
from bot.core.safety import Assessment, Level, SafetyScreen
from bot.core.safety import encoder as encoder_module
from bot.core.safety.encoder import E5Encoder, EncoderUnavailable
from bot.core.safety.model_net import Thresholds
from bot.core.safety.nets import RiskScreen, decide, with_rasa
from bot.core.safety.responses import ANSWER_NO, ANSWER_YES
from bot.storage.db import DatabaseError
from bot.storage.users import MemoryUserStore
from tests.helpers import ROOT, free_port

KNOWN_VECTORS = ROOT / "tests" / "safety_model" / "known_vectors.json"
SCREEN = RiskScreen.load(use_model=True)
LEXICONS = SafetyScreen.load()
THRESHOLDS = Thresholds(reply=0.8, ask=0.3, lexicon_veto=0.95)


def scores(**given: float) -> dict[str, float]:
    result = {"none": 0.0, "acute": 0.0, "distress": 0.0, "third_party": 0.0, "violence": 0.0, **given}
    result["none"] = given.get("none", 1.0 - sum(v for k, v in given.items() if k != "none"))
    return result


@pytest.mark.parametrize(
    ("message", "model", "expected"),
    [
        ("I want to die", scores(none=0.5), Level.ACUTE),  # the lexicons are trusted on direct words
        # ...and a message that is the phrase and little else stays a crisis reply whatever the model
        # says: "quiero morirme" once drew 98% "none" from a retrained model net
        ("I want to die", scores(none=0.99), Level.ACUTE),
        ("quiero morirme", scores(none=0.99), Level.ACUTE),
        ("хочу померти 😢", scores(none=0.99), Level.ACUTE),
        # with words around it that may make it an idiom, a model sure of "everyday" makes it a question
        ("I want to die, this exam is so boring", scores(none=0.99), Level.ASK),
        ("the wind took everything", scores(acute=0.9), Level.ACUTE),  # the model alone, confident
        ("the wind took everything", scores(acute=0.35), Level.ASK),  # unsure: ask
        ("the wind took everything", scores(distress=0.85), Level.DISTRESS),
        ("the wind took everything", scores(third_party=0.9), Level.THIRD_PARTY),
        ("the wind took everything", scores(violence=0.9), Level.VIOLENCE),
        ("the wind took everything", scores(acute=0.05), Level.NONE),
        ("I would never kill myself", scores(none=0.99), Level.ASK),  # a negated phrase: ask, no alarm
    ],
)
def test_one_decision_from_the_lexicons_and_the_model(message, model, expected):
    assert decide(LEXICONS.assess(message), model, THRESHOLDS).level is expected


def test_without_the_model_the_lexicons_decide_and_a_negation_becomes_a_question():
    assert decide(LEXICONS.assess("I want to die"), None, THRESHOLDS).level is Level.ACUTE
    assert decide(LEXICONS.assess("I would never kill myself"), None, THRESHOLDS).level is Level.ASK
    assert decide(LEXICONS.assess("good morning"), None, THRESHOLDS).level is Level.NONE


# --- the encoder: pinned, checked, and giving the vectors it gave when it was checked -----------


def test_the_encoder_gives_the_known_vectors_and_carries_meaning_across_languages():
    known = json.loads(KNOWN_VECTORS.read_text(encoding="utf-8"))
    model = SCREEN.net.encoder if SCREEN.net else E5Encoder.load()
    vectors = model.embed(list(known))
    for row, (text, prefix) in zip(vectors, known.items(), strict=True):
        assert np.allclose(row[: len(prefix)], prefix, atol=2e-3), text
        assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-3
    english, dutch, cooking = model.embed(
        ["I don't want to live anymore", "ik wil niet meer leven", "how do I cook rice"]
    )
    assert float(english @ dutch) > float(english @ cooking) + 0.05


def test_the_encoder_refuses_a_model_file_that_is_not_the_pinned_one(monkeypatch):
    monkeypatch.setattr(encoder_module, "MODEL_SHA256", "0" * 64)
    with pytest.raises(EncoderUnavailable, match="not the pinned model file"):
        E5Encoder.load()


def test_the_encoder_is_not_loaded_on_a_cpu_without_avx2(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2\n")
    with pytest.raises(EncoderUnavailable, match="avx2"):
        E5Encoder.load(cpuinfo=cpuinfo)


def test_when_the_model_cannot_load_the_lexicons_still_screen_and_the_problem_is_said(tmp_path, caplog):
    screen = RiskScreen.load(model_path=tmp_path / "missing.npz", use_model=True)
    assert screen.net is None and "only the word lists" in (screen.problem or "")
    assert "could not load" in caplog.text
    assert screen.assess("I want to die").level is Level.ACUTE


# --- three outcomes in a conversation ------------------------------------------------------------


def converse(messages: list[str], screen: RiskScreen | None = None, users=None) -> list[list]:
    async def go():
        client = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=2)
        assistant = Assistant(client, users or MemoryUserStore(), Catalogs(), screen=screen)
        try:
            return [await assistant.handle_text("person", message) for message in messages]
        finally:
            await client.close()

    return asyncio.run(go())


LEXICONS_ONLY = RiskScreen(LEXICONS, None)


def test_an_uncertain_message_gets_a_direct_kind_question_and_yes_leads_to_the_crisis_answer():
    question, answer = converse(["I would never kill myself", ANSWER_YES], LEXICONS_ONLY)
    assert "ending your life" in question[0].text
    assert [b.payload for b in question[0].buttons] == [ANSWER_YES, ANSWER_NO]
    assert "112" not in question[0].text
    text = "\n".join(reply.text for reply in answer)
    assert "112" in text and "113.nl" in text


def test_no_to_the_question_goes_back_to_the_conversation_without_alarm():
    _, answer = converse(["I would never kill myself", ANSWER_NO], LEXICONS_ONLY)
    assert "112" not in answer[0].text and "glad" in answer[0].text


def test_the_message_that_drew_the_question_is_kept_only_until_the_answer_or_an_erasure(parts):
    assistant = parts.assistant
    assistant.screen = LEXICONS_ONLY  # a negated phrase is asked about whatever the model net says

    async def go():
        for person in ("answers", "erases"):
            await assistant.handle_text(person, "I would never kill myself")
        kept = dict(assistant.asked_about)
        await assistant.handle_text("answers", ANSWER_NO)
        await assistant.handle_text("erases", ERASE_CONFIRMED)
        return kept, dict(assistant.asked_about)

    kept, left = asyncio.run(go())
    assert kept == {"answers": "I would never kill myself", "erases": "I would never kill myself"}
    assert left == {}


def test_yes_typed_in_words_after_the_question_is_a_yes_in_any_language():
    _, answer = converse(["I would never kill myself", "نعم"], LEXICONS_ONLY)
    assert "112" in "\n".join(reply.text for reply in answer)


def test_violence_at_home_gets_112_and_veilig_thuis_in_the_persons_language(language):
    users = MemoryUserStore()
    users.set_language("person", language)
    assistant = Assistant(RasaClient("http://127.0.0.1:9"), users, Catalogs(), screen=LEXICONS_ONLY)
    replies = asyncio.run(assistant.crisis_replies("person", Assessment(Level.VIOLENCE, ("model_violence",)), "..."))
    text = "\n".join(reply.text for reply in replies)
    assert "112" in text and "0800-2000" in text and "Veilig Thuis" in text
    assert all(reply.language == language for reply in replies)


class BrokenStore(MemoryUserStore):
    """A user store whose database refuses every call, as a locked SQLite file or a stopped server does."""

    def __getattribute__(self, name):
        if name in {
            "language", "set_language", "language_state", "set_offered_language",
            "residence", "crisis", "set_crisis", "set_residence", "seen",
        }:  # fmt: skip

            def refuse(*args, **kwargs):
                raise DatabaseError("database is locked")

            return refuse
        return super().__getattribute__(name)


def test_the_crisis_answer_goes_out_when_the_database_refuses_every_call():
    [answer] = converse(["I want to die"], LEXICONS_ONLY, users=BrokenStore())
    text = "\n".join(reply.text for reply in answer)
    assert "112" in text and "113.nl" in text
    assert any(b.payload == "/residence azc" for r in answer for b in r.buttons)  # both GP routes offered


@pytest.mark.parametrize(
    ("earlier", "now"),
    [("عندي حبوب كتير", "الليلة")],
)
def test_risk_that_builds_over_messages_is_caught_from_the_context(earlier, now):
    async def go():
        screen = RiskScreen.load(use_model=True)
        await screen.assess_message("person", earlier)
        return await screen.assess_message("person", now), screen.assess(now)

    together, alone = asyncio.run(go())
    assert alone.level is Level.NONE
    assert together.level is Level.ACUTE and "context" in together.nets


def test_context_is_only_what_came_before_for_the_same_person_and_an_everyday_one_raises_nothing():
    async def go():
        screen = RiskScreen.load(use_model=True)
        await screen.assess_message("someone", "ik heb pillen")
        await screen.assess_message("person", "the pharmacy was closed")
        return await screen.assess_message("person", "tonight")

    assert asyncio.run(go()).level is Level.NONE


def test_a_message_a_word_list_flagged_goes_before_everyday_messages_waiting_for_the_model():
    from bot.core.safety.model_queue import ModelQueue

    async def go():
        order: list[str] = []
        lane = ModelQueue(max_backlog=100)
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()

        def slow(name: str):
            def work():
                asyncio.run_coroutine_threadsafe(gate.wait(), loop).result()  # hold the worker
                order.append(name)

            return work

        blocker = asyncio.ensure_future(lane.run(slow("first"), urgent=False))
        await asyncio.sleep(0.05)
        everyday = [
            asyncio.ensure_future(lane.run(lambda n=n: order.append(f"everyday{n}"), urgent=False)) for n in range(5)
        ]
        crisis = asyncio.ensure_future(lane.run(lambda: order.append("crisis"), urgent=True))
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(blocker, crisis, *everyday)
        return order

    assert asyncio.run(go())[:2] == ["first", "crisis"]


def test_a_long_backlog_sheds_everyday_messages_to_the_word_lists_but_never_a_flagged_one(monkeypatch):
    async def go():
        screen = RiskScreen.load(use_model=True)
        monkeypatch.setattr(screen._queue, "max_backlog", 0)  # as if the model were far behind
        everyday = await screen.assess_message("a", "the wind took everything we had")
        flagged = await screen.assess_message("b", "I want to die")
        return everyday, flagged

    everyday, flagged = asyncio.run(go())
    assert everyday.scores == () and everyday.level is Level.NONE  # the word lists alone
    assert flagged.scores != () and flagged.level is Level.ACUTE  # still read by the model


def parse(intent: str, confidence: float) -> dict:
    return {"intent": {"name": intent, "confidence": confidence}}


MODEL_ASK = Assessment(Level.ASK, ("model_uncertain",), (), ("model",))
MODEL_DISTRESS = Assessment(Level.DISTRESS, ("model_distress",), (), ("model",))
WORDS_DISTRESS = Assessment(Level.DISTRESS, ("panic",), ("en",), ("lexicon",))
WORDS_ACUTE = Assessment(Level.ACUTE, ("suicidal_thoughts",), ("en",), ("lexicon",))


@pytest.mark.parametrize(
    ("screen", "rasa", "expected"),
    [
        (Assessment(Level.NONE), parse("express_acute_risk", 0.95), Level.ASK),  # Rasa alone: a question
        (MODEL_ASK, parse("express_acute_risk", 0.95), Level.ACUTE),  # two nets: the crisis reply
        (MODEL_DISTRESS, parse("express_acute_risk", 0.95), Level.ACUTE),
        (MODEL_DISTRESS, parse("ask_sleep", 0.95), Level.NONE),  # the sleep article answers
        (MODEL_ASK, parse("ask_stress", 0.95), Level.NONE),
        (MODEL_ASK, parse("ask_stress", 0.3), Level.ASK),  # Rasa unsure: the question stays
        (MODEL_ASK, parse("goodbye", 0.99), Level.ASK),  # "goodbye" is no topic: farewells stay questions
        (WORDS_DISTRESS, parse("ask_stress", 0.99), Level.DISTRESS),  # the word lists are not overruled
        (WORDS_ACUTE, parse("ask_sleep", 0.99), Level.ACUTE),
        (MODEL_ASK, None, Level.ASK),  # Rasa down: the screen's verdict stands
    ],
)
def test_rasas_reading_turns_questions_into_replies_and_gives_topics_back_but_never_overrules_words(
    screen, rasa, expected
):
    assert with_rasa(screen, rasa).level is expected


def test_someone_flooding_is_screened_by_the_word_lists_and_what_they_flag_still_reaches_the_model():
    async def screen(text: str, model: bool) -> Assessment:
        return await SCREEN.assess_message(f"flooding-{text}-{model}", text, model)

    flagged = asyncio.run(screen("I want to die", model=False))
    assert flagged.level is Level.ACUTE and flagged.scores, "a word-list hit still gets the model's reading"
    everyday = asyncio.run(screen("what time is it", model=False))
    assert everyday.level is Level.NONE and not everyday.scores, "everyday words: the model's time is spared"
    # The price, for messages beyond the budget only: a paraphrase the word lists miss.
    paraphrase = "the world would be better without me in it"
    assert asyncio.run(screen(paraphrase, model=True)).level is Level.ACUTE
    assert asyncio.run(screen(paraphrase, model=False)).level is Level.NONE
