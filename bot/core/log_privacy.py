"""Logs a maintainer can use that never hold what people wrote or who they are.

Our own code never logs message text, names or Telegram ids. Libraries might, at DEBUG (PTB and
httpx log request URLs, which hold the bot token; Rasa and Sanic log messages), so their loggers stay
at WARNING or above whatever LOG_LEVEL says, and the Rasa server has its own level, RASA_LOG_LEVEL.
As a second line, every line written (tracebacks included) goes through redact(): bot tokens, the
secrets the bot knows, and long numbers such as Telegram user and chat ids are replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

#: Libraries that never log below WARNING here.
QUIET_LIBRARIES = (
    "telegram", "httpx", "httpcore", "aiohttp", "apscheduler", "asyncio", "rasa", "rasa_sdk", "sanic",
    "sqlalchemy", "urllib3", "websockets", "alembic",
)  # fmt: skip

_BOT_TOKEN = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{30,}")
#: Telegram user ids have up to 10 digits, chat ids of groups 13 with a minus sign; dates and times
#: in a log line have at most 4 digits in a row.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{6,}(?![\w.])")

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    text = _BOT_TOKEN.sub("<bot token>", text)
    return _LONG_NUMBER.sub("<number>", text)


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(FORMAT)
        self.secrets = [secret for secret in secrets if secret and len(secret) >= 4]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """Sets up the root logger once, at start."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    library_level = max(logging.WARNING, root.level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
