"""The intent net: Rasa's intents read from multilingual sentence embeddings, for the languages
Rasa's own intent model has no examples of (languages.SUPPORTED outside languages.UNDERSTOOD).

Rasa's intent model reads character n-grams; with the four new languages' examples added, its
held-out accuracy fell under 90% in the first six languages (README), so it keeps those six. For
a message in Tigrinya, Somali or Russian the front end reads the message's embedding (the safety
screen's encoder; the embedding it made for the screen is reused) with this net, and sends Rasa
its reading as a hint in the message's metadata: the intent when the net is sure enough, else
`nlu_fallback` (the "I did not understand" answer with the topics). `bot/rasa_plugins/
intent_hint.py` puts the hint in place of the n-gram model's guess; forms still get the words.

Trained by `python -m bot intent-train` (make does it when the NLU examples change) on every
language's examples together, so the languages help each other; predicting is one matrix product.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot import PROJECT_ROOT
from bot.core.content_check import intent_examples
from bot.core.languages import SUPPORTED, UNDERSTOOD

log = logging.getLogger(__name__)

MODEL_PATH = PROJECT_ROOT / "models" / "intent-net.npz"
NLU_DIR = PROJECT_ROOT / "nlu"
#: The languages whose messages the intent net reads (Rasa's own model reads the others).
READ_BY_NET = tuple(language for language in SUPPORTED if language not in UNDERSTOOD)
#: Rasa's answer for a message the net is not sure of.
NOT_SURE = "nlu_fallback"
#: Out-of-fold, the net's reading must be right this often among the readings it is sure of, in
#: the languages it reads; the confidence threshold is the lowest that keeps it.
PRECISION_GOAL = 0.90
#: Regularisation of the logistic regression (sklearn's C).
STRENGTH = 10.0


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    language: str


def training_examples(nlu_dir: Path = NLU_DIR) -> list[Example]:
    """Every language's NLU examples (nlu/<lang>/*.yml), risk intents included."""
    return [
        Example(intent, text, path.parent.name)
        for path in sorted(nlu_dir.glob("*/*.yml"))
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

    def save(self, path: Path = MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            intents=np.array(self.intents),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            threshold=np.array(self.threshold),
            fingerprint=np.array(self.data_fingerprint),
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
