"""The action server over HTTP, with content an editor broke or has not translated yet."""

from __future__ import annotations

import shutil
import subprocess
import sys

import httpx
import pytest

from bot.core.i18n import Catalogs
from tests.helpers import ROOT, base_env, free_port, wait_until_healthy


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("content")
    shutil.copytree(ROOT / "content", root, dirs_exist_ok=True)
    (root / "ar" / "sleep.md").unlink()  # not translated yet
    (root / "nl" / "hope.md").write_text("this file lost its title line\n")  # broken, English is served
    return root


@pytest.fixture(scope="module")
def action_server(content_dir):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=ROOT,
        env=base_env(CONTENT_DIR=str(content_dir), SANIC_HOST="127.0.0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(f"{url}/health")
    yield url
    process.terminate()
    process.wait(30)


def call(url: str, action: str, intent: str, language: str, text: str = "") -> dict:
    tracker = {
        "sender_id": "test",
        "slots": {"language": None},
        "latest_message": {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [],
            "metadata": {"language": language},
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    body = {"next_action": action, "sender_id": "test", "tracker": tracker, "domain": {}, "version": "3.6.2"}
    response = httpx.post(f"{url}/webhook", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def test_an_untranslated_article_comes_in_english_with_a_note_in_arabic(action_server):
    answer = call(action_server, "action_show_content", "ask_sleep", "ar")
    texts = [message["text"] for message in answer["responses"]]
    assert texts[0] == Catalogs().pgettext(
        "ar", "content", "This text is not yet available in your language, so here it is in English."
    )
    assert texts[1].startswith("Sleep: free care for body and mind")
    assert {"event": "slot", "name": "next_intent", "value": "ask_stress", "timestamp": None} in answer["events"]


def test_a_broken_article_is_replaced_by_english(action_server):
    answer = call(action_server, "action_show_content", "ask_hope", "nl")
    assert answer["responses"][1]["text"].startswith("Hope is a skill you can learn")


def test_a_translated_article_comes_without_a_note(action_server):
    answer = call(action_server, "action_show_content", "ask_stress", "fa")
    assert answer["responses"][0]["text"].startswith("تمرینی برای آرام شدن")


def test_broken_topics_file_gets_a_kind_message(action_server, content_dir):
    saved = (content_dir / "topics.yml").read_text()
    (content_dir / "topics.yml").write_text("topics: [this is: not a mapping")
    try:
        answer = call(action_server, "action_show_content", "ask_stress", "es")
    finally:
        (content_dir / "topics.yml").write_text(saved)
    assert answer["responses"][0]["text"] == Catalogs().pgettext(
        "es", "content", "Sorry, I cannot show this text right now. Please choose another topic, or try again later."
    )
