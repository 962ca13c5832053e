"""Shared fixtures. `stack` starts the whole assistant once per test run, exactly as `make run`
does: `python -m bot run` with its terminal chat, which starts the Rasa and action servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"
PROMPT = "you> "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.update(extra)
    return env


def wait_until_healthy(url: str, timeout: float = 90) -> None:
    """Polls `url` until it answers 200."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class StreamCollector:
    """Collects a child's output in a thread, so tests can wait for text with a timeout."""

    def __init__(self, stream) -> None:
        self.buffer = ""
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            with self.cond:
                self.buffer += chunk.decode("utf-8", errors="replace")
                self.cond.notify_all()

    def wait_for(self, text: str, start: int, timeout: float) -> int:
        """Waits until `text` appears at or after `start`; returns the index just after it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while (index := self.buffer.find(text, start)) < 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{text!r} did not appear; output so far:\n{self.buffer[start:][-3000:]}")
                self.cond.wait(remaining)
            return index + len(text)


@dataclass
class Stack:
    process: subprocess.Popen
    stdout: StreamCollector
    stderr: StreamCollector
    rasa_url: str
    action_url: str
    auth_token: str
    run_dir: Path
    sent: list[str] = field(default_factory=list)
    _read_to: int = 0

    @property
    def database_url(self) -> str:
        """The database the stack's Rasa keeps its conversations in; other bot processes share it."""
        return f"sqlite:///{self.run_dir / 'bot.db'}"

    def say(self, line: str, timeout: float = 60) -> str:
        """Types a line into the terminal chat and returns everything the bot printed for it."""
        self.sent.append(line)
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()
        return self.read_reply(timeout)

    def read_reply(self, timeout: float = 60) -> str:
        end = self.stdout.wait_for(PROMPT, self._read_to, timeout)
        reply = self.stdout.buffer[self._read_to : end - len(PROMPT)]
        self._read_to = end
        return reply


#: The Rasa HTTP API token of the test stack (the bot uses it for Rasa's parse endpoint too).
STACK_TOKEN = "test-token"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}; `make test` trains it before running pytest")
    run_dir = tmp_path_factory.mktemp("run")
    rasa_port, action_port = free_port(), free_port()
    env = base_env(
        RASA_PORT=str(rasa_port),
        ACTION_PORT=str(action_port),
        RASA_AUTH_TOKEN=STACK_TOKEN,
        RUN_DIR=str(run_dir),
        PSEUDONYM_SECRET="test-secret",
        LOG_LEVEL="INFO",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stack = Stack(
        process=process,
        stdout=StreamCollector(process.stdout),
        stderr=StreamCollector(process.stderr),
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://127.0.0.1:{action_port}",
        auth_token=STACK_TOKEN,
        run_dir=run_dir,
    )
    try:
        stack.stderr.wait_for("Ready after", 0, timeout=400)
        stack.greeting = stack.read_reply()
        yield stack
        # Ctrl-C, as in a terminal: the chat and both servers stop cleanly.
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        assert "Stopped." in stack.stderr.buffer
        for port in (rasa_port, action_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on {port}"
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the whole run (see tests/postgres.py)."""
    from tests.postgres import ThrowawayPostgres, server_binaries

    if server_binaries() is None:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES) but not installed; run scripts/ensure-postgres")
        pytest.skip("PostgreSQL is not installed; `make test` installs it")
    server = ThrowawayPostgres()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty, migrated database of each kind the bot supports."""
    from sqlalchemy import create_engine, text

    from bot.storage.db import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        url = request.getfixturevalue("postgres_server")
        engine = create_engine(url, future=True)
        with engine.begin() as connection:  # each test starts from an empty schema
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    migrate(url)
    return url


@pytest.fixture(scope="module")
def telegram(stack):
    """`python -m bot run` on the Telegram Bot API stand-in, with the session's Rasa and database;
    one per test module."""
    from tests.telegram_standin import TelegramStandIn
    from tests.test_telegram import TOKEN, start_bot, stop_bot

    standin = TelegramStandIn(TOKEN)
    standin.start()
    process = start_bot(standin, stack)
    yield standin
    stop_bot(process)
    standin.stop()
