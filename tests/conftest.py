"""Shared fixtures. `stack` starts the whole assistant once per test run, exactly as `make run`
does: `python -m bot run` with its terminal chat, which starts the Rasa and action servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import MODEL, PROMPT, ROOT, TOKEN, StreamCollector, base_env, free_port, stop_leftover_bots


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--language",
        action="append",
        help="run the per-language tests for this language only (repeatable; default: every language the bot speaks)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes `language` runs once per language the bot speaks, so a new language gets its
    cases without touching the tests (as home-assistant/intents does). Tests that name their own
    set of languages (e.g. those with a translation) keep it."""
    if "language" not in metafunc.fixturenames:
        return
    if any("language" in str(marker.args[0]) for marker in metafunc.definition.iter_markers("parametrize")):
        return
    from bot.core.languages import SUPPORTED

    chosen = metafunc.config.getoption("language") or list(SUPPORTED)
    metafunc.parametrize("language", [language for language in chosen if language in SUPPORTED])


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
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES) but not installed; run scripts/ensure-servers")
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


@pytest.fixture
def standin():
    """A Telegram stand-in of this test's own (no bot started)."""
    from tests.telegram_standin import TelegramStandIn

    server = TelegramStandIn(TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def telegram(stack):
    """`python -m bot run` on the Telegram Bot API stand-in, with the session's Rasa and database;
    one per test module."""
    from tests.helpers import bot_on_standin

    with bot_on_standin(stack) as standin:
        yield standin


@pytest.fixture(scope="session", autouse=True)
def no_bot_outlives_the_tests():
    """A bot process a test forgot to stop is stopped here, and the run fails: it would go on
    polling the stand-in and hold its files."""
    yield
    leftovers = stop_leftover_bots()
    assert not leftovers, f"bot processes left running by a test: {leftovers}"
