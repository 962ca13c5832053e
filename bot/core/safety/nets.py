"""The whole safety screen: the lexicon net and the model net on every message, the person's last
few messages as context, and one decision with three outcomes (reply, ask, none).

    confident risk           -> the reply for that level (acute, distress, third party, violence)
    uncertain suicide risk   -> Level.ASK: ask directly and kindly whether they think of ending their life
    a lexicon hit the model reads as everyday (idiom, negation, objects) -> Level.ASK, not an alarm,
      unless the message is the acute phrase and little else ("quiero morirme": Assessment.direct)
    nothing                  -> Level.NONE

Runs in the front end without Rasa. The model net is optional: when it cannot load, the lexicons
decide alone and `problem` says why (the bot logs it and tells the coordinators).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.core.safety import net as rasa_net
from bot.core.safety.encoder import E5Encoder, Encoder, EncoderUnavailable
from bot.core.safety.examples import LABELS
from bot.core.safety.model_net import MODEL_PATH, RiskModel, Thresholds
from bot.core.safety.model_queue import ModelQueue
from bot.core.safety.net import confidence_threshold
from bot.core.safety.screen import Assessment, Level, SafetyScreen

log = logging.getLogger(__name__)

#: The model's labels and the levels they stand for.
LABEL_LEVELS = {
    "acute": Level.ACUTE,
    "distress": Level.DISTRESS,
    "third_party": Level.THIRD_PARTY,
    "violence": Level.VIOLENCE,
}
#: The bot's own topics. The signs of distress (sleepless nights, fear, shaking hands) are also what
#: people bring to these topics; when only the model net heard distress or was unsure, and Rasa's
#: intent model is confident that the message asks for one of them, the topic is answered instead.
TOPIC_INTENTS = frozenset(
    {
        "ask_sleep",
        "ask_stress",
        "ask_hope",
        "ask_resilience",
        "ask_good_moments",
        "ask_about_programme",
        "book_session",
        "request_booking",
        "ask_privacy",
        "change_language",
        "show_menu",
        "bot_challenge",
    }
)


def deferrable(assessment: Assessment) -> bool:
    """A question or a distress reply that only the model net asked for: a topic may answer it."""
    return assessment.level in (Level.ASK, Level.DISTRESS) and set(assessment.nets) == {"model"}


def with_rasa(assessment: Assessment, parse: dict | None) -> Assessment:
    """The screen's verdict with Rasa's reading of the same message (None: Rasa is down).

    Rasa's risk intents (the third net) turn the screen's question into their reply, and ask the
    question where the screen heard nothing; when only the model net questioned a message or heard
    distress, a topic Rasa would answer ("I keep waking up at night" → sleep) takes it back.
    Replies from the word lists or a confident model never change here, and nothing here is ever
    needed for a crisis reply to go out."""
    if parse is None:
        return assessment
    flagged = rasa_net.from_parse(parse)
    if flagged.is_risk and assessment.level is Level.NONE:
        # Measured on the held-out set: Rasa's risk intents alone gave crisis replies to 14-21% of
        # everyday messages. Where the screen heard nothing, they only ask the question.
        return replace(flagged, level=Level.ASK)
    if flagged.is_risk and (assessment.level is Level.ASK or flagged.level is Level.ACUTE):
        return flagged if assessment.level is not Level.ACUTE else assessment
    if deferrable(assessment) and is_topic(parse):
        return Assessment(Level.NONE, ("topic",), (), assessment.nets, assessment.scores)
    return assessment


def is_topic(parse: dict | None) -> bool:
    """Rasa would answer this message with one of the bot's topics (above its fallback threshold)."""
    intent = (parse or {}).get("intent") or {}
    return intent.get("name") in TOPIC_INTENTS and float(intent.get("confidence") or 0) >= confidence_threshold()


#: How many earlier messages, and how recent, count as context. Kept in memory only.
CONTEXT_MESSAGES = 3
CONTEXT_SECONDS = 15 * 60
#: Earlier messages are read again with the new one when one of them carried at least this risk to
#: the writer, or when the new message is this short ("tonight", "it is time"): short messages
#: take their meaning from what came before.
CONTEXT_FLOOR = 0.05
SHORT_MESSAGE_WORDS = 6
#: People whose context is kept at once; the least recent are forgotten first.
CONTEXT_PEOPLE = 10_000


def decide(lexical: Assessment, scores: dict[str, float] | None, thresholds: Thresholds) -> Assessment:
    """One decision from the lexicon net's verdict and the model net's probabilities."""
    if scores is None:  # the lexicons alone
        return replace(lexical, level=Level.ASK) if lexical.negated else lexical
    nets = tuple(lexical.nets)
    ranked = tuple(sorted(scores.items()))
    said = [label for label in LABEL_LEVELS if scores[label] >= thresholds.reply]
    top = max(said, key=lambda label: scores[label]) if said else None
    everyday = scores["none"] >= thresholds.lexicon_veto

    def result(level: Level, *extra: str) -> Assessment:
        categories = tuple(sorted({*lexical.categories, *extra}))
        fired = nets + (("model",) if any(c.startswith("model_") for c in extra) else ())
        return Assessment(level, categories, lexical.languages, fired, ranked)

    if lexical.level is Level.ACUTE:
        return result(Level.ASK if everyday and not lexical.direct else Level.ACUTE)
    if top == "acute":
        return result(Level.ACUTE, "model_acute")
    if lexical.level is Level.THIRD_PARTY and not everyday:
        return result(Level.THIRD_PARTY)
    if top is not None:
        return result(LABEL_LEVELS[top], f"model_{top}")
    if lexical.level is Level.DISTRESS and not lexical.negated and not everyday:
        return result(Level.DISTRESS)
    if lexical.negated or lexical.is_risk or scores["acute"] >= thresholds.ask:
        return result(Level.ASK, "model_uncertain")
    return Assessment(Level.NONE, (), (), nets, ranked)


@dataclass
class ModelNet:
    encoder: Encoder
    model: RiskModel

    def scores(self, texts: list[str]) -> list[dict[str, float]]:
        rows = self.model.probabilities(self.encoder.embed(texts))
        return [{label: float(p) for label, p in zip(LABELS, row, strict=True)} for row in rows]


@dataclass
class _Seen:
    at: float
    text: str
    self_risk: float


class RiskScreen:
    """Every net on every message. `assess` is for one message without context (evaluation, the
    command line); `assess_message` is the bot's: it remembers a person's last messages and runs
    the model off the event loop, in its own thread with a fast lane (bot/core/safety/model_queue.py)."""

    def __init__(self, lexicons: SafetyScreen, net: ModelNet | None, problem: str | None = None) -> None:
        self.lexicons = lexicons
        self.net = net
        self.problem = problem
        self._context: OrderedDict[str, deque[_Seen]] = OrderedDict()
        self._queue = ModelQueue() if net is not None else None

    @classmethod
    def load(
        cls, lexicon_dir: Path | None = None, model_path: Path = MODEL_PATH, use_model: bool | None = None
    ) -> RiskScreen:
        """`use_model` None: as SAFETY_MODEL_NET says (on unless it is "off")."""
        lexicons = SafetyScreen.load(lexicon_dir)
        if use_model is None:
            use_model = os.environ.get("SAFETY_MODEL_NET", "on").lower() not in ("off", "0", "false", "no")
        if not use_model:
            return cls(lexicons, None)
        try:
            model = RiskModel.load(model_path)
            encoder = E5Encoder.load()
        except (OSError, ValueError, KeyError, EncoderUnavailable) as error:
            problem = f"the safety screen's model net could not load ({error}); only the word lists screen messages"
            log.error("%s", problem)
            return cls(lexicons, None, problem)
        return cls(lexicons, ModelNet(encoder, model))

    @property
    def thresholds(self) -> Thresholds:
        return self.net.model.thresholds if self.net else Thresholds()

    def assess(self, text: str, context: tuple[str, ...] = ()) -> Assessment:
        lexical = self.lexicons.assess(text)
        if self.net is None:
            return decide(lexical, None, self.thresholds)
        texts = [text, " ".join([*context, text])] if context else [text]
        scores = self.net.scores(texts)
        alone = decide(lexical, scores[0], self.thresholds)
        if not context:
            return alone
        together = decide(self.lexicons.assess(texts[1]), scores[1], self.thresholds)
        # Context raises a message only to the crisis reply ("I have pills" … "tonight"): a question
        # or a distress reply from context alone would follow every run of short answers in a
        # form ("Monday", "evening") and every topic after a bad night.
        if together.level is Level.ACUTE and alone.level is not Level.ACUTE:
            return replace(together, nets=(*together.nets, "context"))
        return alone

    async def assess_message(self, person: str, text: str, model: bool = True) -> Assessment:
        """The bot's screen for one person's message, with their recent messages as context.
        `model` False (someone flooding the bot): the word lists alone, unless they hear something."""
        if text.startswith("/") and " " not in text.strip():
            return self.lexicons.assess(text)  # a command or a button's payload: nothing to read
        context = self._recent(person, short=len(text.split()) <= SHORT_MESSAGE_WORDS)
        lexical = self.lexicons.assess(text)  # a word list heard something: the fast lane
        if self._queue is None or (not lexical.is_risk and (self._queue.full() or not model)):
            assessment = decide(lexical, None, self.thresholds)
        else:
            assessment = await self._queue.run(lambda: self.assess(text, context), urgent=lexical.is_risk)
        scores = dict(assessment.scores)
        self._remember(person, text, scores.get("acute", 0.0) + scores.get("distress", 0.0), assessment)
        return assessment

    async def embedding(self, text: str, fresh: bool = True) -> np.ndarray | None:
        """The message's embedding: the one the screen made for it if it just read it, else (with
        `fresh`) made in the model net's thread; None without the model net or while it is flooded,
        and without `fresh` when the screen did not read it (no new work for the encoder)."""
        net, queue = self.net, self._queue
        if net is None or queue is None:
            return None
        known = net.encoder.recent(text)
        if known is not None or not fresh or queue.full():
            return known
        return (await queue.run(lambda: net.encoder.embed([text]), urgent=False))[0]

    def forget(self, person: str) -> None:
        self._context.pop(person, None)

    def _recent(self, person: str, short: bool) -> tuple[str, ...]:
        seen = self._context.get(person)
        if not seen:
            return ()
        now = time.monotonic()
        recent = [item for item in seen if now - item.at <= CONTEXT_SECONDS]
        if not short and not any(item.self_risk >= CONTEXT_FLOOR for item in recent):
            return ()
        return tuple(item.text for item in recent)

    def _remember(self, person: str, text: str, self_risk: float, assessment: Assessment) -> None:
        if assessment.level in (Level.ACUTE, Level.THIRD_PARTY, Level.VIOLENCE):
            self._context.pop(person, None)  # answered already: the next message starts afresh
            return
        seen = self._context.setdefault(person, deque(maxlen=CONTEXT_MESSAGES - 1))
        self._context.move_to_end(person)
        seen.append(_Seen(time.monotonic(), text[:500], self_risk))
        while len(self._context) > CONTEXT_PEOPLE:
            self._context.popitem(last=False)
