"""What the end-to-end tests share: starting and stopping bot processes, free ports, the
environment they run in, and the Telegram and coordinator settings of the stand-in tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.telegram_standin import Call, TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"
PROMPT = "you> "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """The environment a test's process runs in; its RUN_DIR is a fresh temporary folder unless
    given, so that no test writes into the checkout."""
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env["RUN_DIR"] = tempfile.mkdtemp(prefix="bot-test-run-")
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


TOKEN = "123456:TEST-token_abc"


def start_bot(standin: TelegramStandIn, stack=None, **settings: str) -> subprocess.Popen:
    """`python -m bot run` on Telegram with its own RUN_DIR; with a stack, on its Rasa and database."""
    run_dir = tempfile.mkdtemp(prefix="bot-run-")
    env = base_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=standin.url,
        RASA_URL=stack.rasa_url if stack else f"http://127.0.0.1:{free_port()}",
        RASA_AUTH_TOKEN=stack.auth_token if stack else "none",
        DATABASE_URL=stack.database_url if stack else f"sqlite:///{run_dir}/bot.db",
        RUN_DIR=run_dir,
        PSEUDONYM_SECRET="s",
        LOG_LEVEL="INFO",
    )
    env.update(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    process.log = StreamCollector(process.stderr)
    STARTED.append(process)
    process.log.wait_for("Answering on Telegram", 0, timeout=60)
    return process


@contextlib.contextmanager
def bot_on_standin(stack=None, **settings: str) -> Iterator[TelegramStandIn]:
    """A Telegram Bot API stand-in with `python -m bot run` on it (`standin.bot`); both stopped at
    the end, also the bot a test restarted in between."""
    standin = TelegramStandIn(TOKEN)
    standin.start()
    standin.bot = None
    try:
        standin.bot = start_bot(standin, stack, **settings)
        yield standin
    finally:
        if standin.bot is not None:
            stop_bot(standin.bot)
        standin.stop()


def start_rasa(stack) -> tuple[subprocess.Popen, str]:
    """A Rasa server of its own (on the stack's action server), for a test that kills it; returns
    it with its URL once it answers."""
    port = free_port()
    rasa = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(port),
         "--model", "models/current.tar.gz", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
        cwd=ROOT, env=base_env(ACTION_SERVER_URL=f"{stack.action_url}/webhook"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{url}/", timeout=180)
    except TimeoutError:
        rasa.kill()
        raise
    return rasa, url


def stop_bot(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0, process.log.buffer[-4000:]
    assert "Stopped." in process.log.buffer
    # Logged at INFO: still no bot token and no Telegram user id in the log.
    assert TOKEN.split(":")[1] not in process.log.buffer, "the bot token reached the log"
    assert all(f"'{user_id}'" not in process.log.buffer for user_id in (101, 102, 103, 201))


def keyboard_of(call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [(button["text"], button["callback_data"]) for row in markup.get("inline_keyboard", []) for button in row]


def pressed(standin: TelegramStandIn, user_id: int, data: str) -> None:
    message = {"message_id": 7, "date": 0, "chat": {"id": user_id, "type": "private"}, "text": "…"}
    standin.press(user_id, message, data)


GROUP = -1001
ANNA, BOB, STRANGER = 701, 702, 799
REMIND_AFTER = 3  # seconds, so a test can wait for a reminder


def coordinator_settings() -> dict[str, str]:
    return {
        "COORDINATOR_CHAT_ID": str(GROUP),
        "COORDINATOR_USER_IDS": f"{ANNA},{BOB}",
        "ESCALATION_REMIND_AFTER": str(REMIND_AFTER),
    }


#: Every bot process start_bot started; conftest stops any still running when the session ends.
STARTED: list[subprocess.Popen] = []


def stop_leftover_bots() -> list[int]:
    """Stops bot processes a test left running; returns their process ids."""
    leftovers = [process for process in STARTED if process.poll() is None]
    for process in leftovers:
        process.kill()
        process.wait(10)
    return [process.pid for process in leftovers]


def alerts(standin: TelegramStandIn, marker: str = "") -> list[Call]:
    """Alerts posted to the coordinators' group (first lines "#<id> 🚨 URGENT · ..." or "#<id> 🔔 · ...")."""
    return [
        call
        for call in standin.calls_to("sendMessage", GROUP)
        if call.accepted
        and any(sign in call.params["text"].split("\n")[0] for sign in ("🚨 URGENT ·", "🔔 ·"))
        and marker in call.params["text"]
    ]


def escalation_id(alert: Call) -> int:
    return int(alert.params["text"].split()[0].lstrip("#"))


def wait_for_alert(standin: TelegramStandIn, marker: str, timeout: float = 30) -> Call:
    return standin.wait_for(lambda: (found := alerts(standin, marker)) and found[-1], timeout)
