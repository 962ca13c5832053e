"""The intent net: Rasa's intents read from multilingual sentence embeddings, for the languages
Rasa's own intent model has no examples of (languages.SUPPORTED outside languages.UNDERSTOOD).

Rasa's intent model reads character n-grams; with the four new languages' examples added, its
held-out accuracy fell under 90% in the first six languages (README), so it keeps those six. For
a message in Tigrinya, Somali or Russian the front end reads the message's embedding (the safety
screen's encoder; the embedding it made for the screen is reused) with this net, and sends Rasa
its reading as a hint in the message's metadata: the intent when the net is sure enough, else
`nlu_fallback` (the "I did not understand" answer with the topics). `bot/rasa_plugins/
intent_hint.py` puts the hint in place of the n-gram model's guess; forms still get the words.
Beside it, the *topic net* (`train_topics`, models/topic-net.npz) reads, in every language, the
topics neither Rasa's model nor the intent net learns (`net_topics`: grief, loneliness, anger, the
asylum procedure, a child's sleep, and asking for more topics).

Trained by `python -m bot intent-train` (make does it when the NLU examples change) on every
language's examples together, so the languages help each other; predicting is one matrix product.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot import PROJECT_ROOT
from bot.core.content_check import intent_examples
from bot.core.languages import SUPPORTED, UNDERSTOOD

log = logging.getLogger(__name__)

MODEL_PATH = PROJECT_ROOT / "models" / "intent-net.npz"
#: The topic net: which of net_topics() a message asks for, in any language (or OTHER).
TOPIC_MODEL_PATH = PROJECT_ROOT / "models" / "topic-net.npz"
OTHER = "other"
#: The topic net's label for asking for the other topics ("what else is there?").
MORE_TOPICS = "more_topics"
NLU_DIR = PROJECT_ROOT / "nlu"
#: The languages whose messages the intent net reads (Rasa's own model reads the others).
READ_BY_NET = tuple(language for language in SUPPORTED if language not in UNDERSTOOD)
#: Topics whose examples Rasa's model does not learn (nlu/<lang>/more_topics.yml): taught to the one
#: model all languages share, they cost held-out accuracy in every language (README), and taught to
#: the intent net, they cost Tigrinya and Somali some of theirs. The topic net, beside the intent
#: net, reads them in every language.
NET_TOPICS_FILE = "more_topics.yml"
#: Rasa's answer for a message the net is not sure of.
NOT_SURE = "nlu_fallback"
#: Out-of-fold, the net's reading must be right this often among the readings it is sure of, in
#: the languages it reads; the confidence threshold is the lowest that keeps it.
PRECISION_GOAL = 0.90
#: The topic net's reading overrules Rasa's model (or the intent net), which reads 90-96% of held-out
#: messages right; so it must be right more often than that, this often out of fold. The margin by
#: which it must lead its second reading is the smallest that keeps it.
TOPIC_PRECISION_GOAL = 0.97
#: Regularisation of the logistic regression (sklearn's C).
STRENGTH = 10.0


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    language: str


def training_examples(nlu_dir: Path = NLU_DIR, topics: bool = False) -> list[Example]:
    """Every language's NLU examples, risk intents included: nlu/<lang>/nlu.yml for the intent net,
    and with `topics` also NET_TOPICS_FILE (for the topic net)."""
    return [
        Example(intent, text, path.parent.name)
        for path in sorted(nlu_dir.glob("*/*.yml"))
        if topics or path.name != NET_TOPICS_FILE
        for intent, text in intent_examples(path)
    ]


def fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    return digest.hexdigest()[:16]


@dataclass
class IntentNet:
    intents: list[str]
    weights: np.ndarray  # embedding size × intents
    bias: np.ndarray
    threshold: float
    data_fingerprint: str
    #: How far a reading of one of net_topics() must lead the second reading to overrule Rasa's model.
    topic_margin: float = 0.0

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return odds / odds.sum(axis=1, keepdims=True)

    def read(self, vector: np.ndarray) -> tuple[str, float]:
        """(intent, probability); the intent is NOT_SURE under the threshold."""
        row = self.probabilities(vector.reshape(1, -1))[0]
        best = int(row.argmax())
        return (self.intents[best] if row[best] >= self.threshold else NOT_SURE), float(row[best])

    def topic(self, vector: np.ndarray) -> str | None:
        """The topic net's reading: one of net_topics() when it leads the second reading by
        topic_margin; else None."""
        row = self.probabilities(vector.reshape(1, -1))[0]
        second, best = np.argsort(row)[-2:]
        intent = self.intents[int(best)]
        sure = row[best] >= self.threshold and row[best] - row[second] >= self.topic_margin
        return intent if sure and intent != OTHER else None

    def save(self, path: Path = MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            intents=np.array(self.intents),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            threshold=np.array(self.threshold),
            fingerprint=np.array(self.data_fingerprint),
            topic_margin=np.array(self.topic_margin),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> IntentNet:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                [str(name) for name in data["intents"]],
                data["weights"],
                data["bias"],
                float(data["threshold"]),
                str(data["fingerprint"]),
                float(data["topic_margin"]) if "topic_margin" in data.files else 0.0,
            )


def _fit(vectors: np.ndarray, labels: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=STRENGTH, max_iter=3000)
    model.fit(vectors, labels)
    return [str(name) for name in model.classes_], model.coef_.T.copy(), model.intercept_.copy()


def choose_threshold(probabilities: np.ndarray, predicted: list[str], truth: list[str]) -> float:
    """The lowest confidence at which the readings at or above it are right PRECISION_GOAL of the time."""
    confidence = probabilities.max(axis=1)
    right = np.array([p == t for p, t in zip(predicted, truth, strict=True)])
    for threshold in np.arange(0.0, 1.0, 0.01):
        kept = confidence >= threshold
        if kept.any() and right[kept].mean() >= PRECISION_GOAL:
            return round(float(threshold), 2)
    return 1.0


def choose_topic_margin(probabilities: np.ndarray, classes: list[str], truth: list[str]) -> float:
    """The smallest lead over the second reading at which the topic net's readings of a topic are
    right TOPIC_PRECISION_GOAL of the time."""
    ordered = np.sort(probabilities, axis=1)
    best = probabilities.argmax(axis=1)
    lead = ordered[:, -1] - ordered[:, -2]
    topical = np.array([classes[b] != OTHER for b in best])
    right = np.array([classes[b] == t for b, t in zip(best, truth, strict=True)])
    for margin in np.arange(0.0, 1.0, 0.05):
        kept = topical & (lead >= margin)
        if not kept.any() or right[kept].mean() >= TOPIC_PRECISION_GOAL:
            return round(float(margin), 2)
    return 1.0


def train(vectors: np.ndarray, examples: list[Example]) -> tuple[IntentNet, dict[str, float]]:
    """Fits the net on every example; the threshold is chosen on out-of-fold readings (5 folds) of
    the examples in READ_BY_NET's languages. Returns the net and its out-of-fold figures."""
    from sklearn.model_selection import StratifiedKFold

    labels = [example.intent for example in examples]
    read = np.array([example.language in READ_BY_NET for example in examples])
    probabilities = np.zeros((len(examples), len(set(labels))))
    predicted = [""] * len(examples)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    for train_rows, test_rows in splitter.split(vectors, labels):
        intents, weights, bias = _fit(vectors[train_rows], [labels[i] for i in train_rows])
        net = IntentNet(intents, weights, bias, 0.0, "")
        rows = net.probabilities(vectors[test_rows])
        probabilities[test_rows, : len(intents)] = rows
        for row, index in zip(rows, test_rows, strict=True):
            predicted[index] = intents[int(row.argmax())]
    rows = np.flatnonzero(read) if read.any() else np.arange(len(examples))
    threshold = choose_threshold(probabilities[rows], [predicted[i] for i in rows], [labels[i] for i in rows])
    intents, weights, bias = _fit(vectors, labels)
    kept = probabilities[rows].max(axis=1) >= threshold
    right = np.array([predicted[i] == labels[i] for i in rows])
    figures = {
        "accuracy": float(right.mean()),
        "sure": float(kept.mean()),
        "right_when_sure": float(right[kept].mean()) if kept.any() else 0.0,
    }
    return IntentNet(intents, weights, bias, threshold, fingerprint(examples)), figures


def train_topics(vectors: np.ndarray, examples: list[Example]) -> tuple[IntentNet, dict[str, float]]:
    """The topic net: every language's examples, each labelled with its topic if it is one of
    net_topics() and OTHER if not; the margin is chosen on out-of-fold readings (5 folds)."""
    from sklearn.model_selection import StratifiedKFold

    labels = [example.intent if example.intent in net_topics() else OTHER for example in examples]
    classes = sorted(set(labels))  # the order sklearn gives its classes in
    probabilities = np.zeros((len(examples), len(classes)))
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    for train_rows, test_rows in splitter.split(vectors, labels):
        intents, weights, bias = _fit(vectors[train_rows], [labels[i] for i in train_rows])
        probabilities[test_rows] = IntentNet(intents, weights, bias, 0.0, "").probabilities(vectors[test_rows])
    margin = choose_topic_margin(probabilities, classes, labels)
    best = probabilities.argmax(axis=1)
    ordered = np.sort(probabilities, axis=1)
    said = np.array([classes[b] != OTHER for b in best]) & (ordered[:, -1] - ordered[:, -2] >= margin)
    topical = np.array([label != OTHER for label in labels])
    right = np.array([classes[b] == label for b, label in zip(best, labels, strict=True)])
    figures = {
        "topic_margin": margin,
        "topic_recall": float((said & right)[topical].mean()) if topical.any() else 0.0,
        "topic_precision": float(right[said].mean()) if said.any() else 0.0,
    }
    intents, weights, bias = _fit(vectors, labels)
    return IntentNet(intents, weights, bias, 0.0, fingerprint(examples), margin), figures


@cache
def net_topics(nlu_dir: Path = NLU_DIR) -> frozenset[str]:
    """The intents of NET_TOPICS_FILE (in English, the source language)."""
    return frozenset(intent for intent, _ in intent_examples(nlu_dir / "en" / NET_TOPICS_FILE))
