"""The `make run` chat: typed text, numbered buttons, commands and bad input, in one process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.conversation.assistant import Assistant
from bot.conversation.rasa_client import RasaClient
from bot.core.i18n import Catalogs
from bot.storage.users import MemoryUserStore
from tests.conversation import article_title, expected_text, looks_written_in
from tests.helpers import ROOT, base_env, free_port, wait_until_healthy


def test_start_greets_and_numbers_the_menu_buttons(stack):
    assert "bot> Hello, welcome." in stack.greeting
    assert "[1] 😴 Sleep" in stack.greeting
    assert "[7] 🧭 More topics" in stack.greeting
    assert "[10] 👥 Group programmes" in stack.greeting
    assert "[11] 🌐 Language" in stack.greeting


def test_typing_a_number_presses_that_button(stack):
    stack.say("/start")
    reply = stack.say("1")
    assert article_title("en", "sleep") in reply
    assert "[1] ➡️ Another exercise" in reply


def test_arabic_in_arabic_out_with_arabic_articles(stack):
    switched = stack.say("/language ar")
    assert "العربية" in switched
    reply = stack.say("ما بقدر نام بالليل، دايما بصحى")
    assert article_title("ar", "sleep") in reply
    assert looks_written_in("ar", reply.splitlines()[-1])
    stack.say("/language en")


def test_bad_input_gets_a_kind_answer_and_the_chat_goes_on(stack):
    assert "I did not get any text" in stack.say("   ")
    assert "Choose a topic" in stack.say("🙏🙏🙏")
    assert "I do not know that command" in stack.say("/frobnicate")
    long_reply = stack.say("I feel very stressed about my interview. " * 130)  # about 5,000 characters
    assert article_title("en", "stress") in long_reply
    assert "bot>" in stack.say("Ich kann nicht schlafen, was soll ich tun?")  # German: not supported, still answered
    assert "Hello, welcome" in stack.say("hello")


def test_no_message_text_reaches_the_logs(stack):
    stack.say("my secret is marmalade-4711 and I cannot sleep")
    logs = [stack.stderr.buffer] + [path.read_text(errors="replace") for path in (stack.run_dir / "logs").glob("*.log")]
    for line in stack.sent:
        words = [word for word in line.split() if len(word) > 6 and not word.startswith("/")]
        for word in words:
            assert all(word not in log for log in logs), f"{word!r} was logged"


def test_a_dead_action_server_is_restarted(stack):
    pid = _pid_listening_on(int(stack.action_url.rsplit(":", 1)[1]))
    os.kill(pid, signal.SIGKILL)
    wait_until_healthy(f"{stack.action_url}/health")
    assert article_title("en", "hope") in stack.say("I have lost all hope")


def test_rasa_unreachable_gets_a_kind_message_in_the_persons_language():
    async def go() -> str:
        client = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=2)
        assistant = Assistant(client, MemoryUserStore(), Catalogs())
        assistant.users.set_language("someone", "uk")
        [reply] = await assistant.handle_text("someone", "привіт")
        await client.close()
        return reply.text

    assert asyncio.run(go()) == Catalogs().pgettext(
        "uk", "bot", "I am having trouble right now. Please try again in a moment."
    )
    assert expected_text("en", "utter_next_step")  # the English source is readable too


def test_a_malformed_setting_stops_start_up_with_its_name():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=base_env(RASA_PORT="fivethousand"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "RASA_PORT must be a port number" in result.stderr


def test_the_chat_ends_cleanly_at_end_of_input(stack, tmp_path):
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=base_env(RASA_URL=stack.rasa_url, RUN_DIR=str(tmp_path)),  # nothing written into the checkout
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0
    assert chat.stdout.count("Hello, welcome") == 2  # /start, then "hello"
    assert "Stopped." in chat.stderr


def _pid_listening_on(port: int) -> int:
    """The pid of the process with a listening socket on the port, from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"nothing listens on port {port}")
