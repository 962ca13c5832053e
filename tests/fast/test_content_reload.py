"""Editors' changes reach the running bot: a changed translation is compiled and shown within
seconds, a PO file that cannot be read keeps its last good version, a text whose placeholders
differ shows in English, and the coordinators' group is told in plain words."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.coordinators.content_reload import ContentReloader
from bot.core.i18n import Catalogs
from tests.fast.conftest import FakeMessenger
from tests.helpers import ROOT

MENU = ("programmes", "These group programmes may fit you:")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for folder in ("content", "locales", "domain"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def nl_po(root: Path) -> Path:
    return root / "locales" / "nl" / "LC_MESSAGES" / "messages.po"


def shown(root: Path, context: str, text: str) -> str:
    """What a process that starts now shows (every process rechecks the compiled file's date)."""
    return Catalogs(root / "locales").pgettext("nl", context, text)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_changed_translation_is_in_use_after_the_next_look_and_the_group_is_told(root: Path):
    messenger = FakeMessenger()
    reloader = ContentReloader(messenger, root)
    asyncio.run(reloader.reload())  # a coordinator's /reload: every catalog compiled as it is
    messenger.posts.clear()
    before = shown(root, *MENU)
    assert before == "Deze groepsprogramma's passen misschien bij je:"
    assert asyncio.run(reloader.check_for_changes()) is None and messenger.posts == [], "nothing changed"

    replace_in(
        nl_po(root),
        f'msgid "{MENU[1]}"\nmsgstr "{before}"',
        f'msgid "{MENU[1]}"\nmsgstr "Deze groepen passen misschien bij je:"',
    )
    report = asyncio.run(reloader.check_for_changes())

    assert report is not None and report.compiled == ["nl"]
    assert shown(root, *MENU) == "Deze groepen passen misschien bij je:"
    [post] = messenger.posts
    assert post.text.startswith("📝 Content reloaded.") and "Translations now in use: nl." in post.text
    assert "✅ The content check found nothing to fix." in post.text


def test_a_po_file_that_cannot_be_read_keeps_its_last_good_version(root: Path):
    messenger = FakeMessenger()
    reloader = ContentReloader(messenger, root)
    asyncio.run(reloader.reload())  # compiled from the PO files as they are
    good = shown(root, *MENU)

    nl_po(root).write_text(nl_po(root).read_text(encoding="utf-8") + '\nmsgid "unclosed\n', encoding="utf-8")
    report = asyncio.run(reloader.check_for_changes())

    assert report is not None and report.refused == ["locales/nl/LC_MESSAGES/messages.po"]
    assert shown(root, *MENU) == good, "the last good version stays in use"
    text = messenger.posts[-1].text
    assert "⚠️ locales/nl/LC_MESSAGES/messages.po: cannot be read, so its last good version stays in use." in text
    assert "problem(s) to fix" in text, "and the content check says where"


def test_a_text_whose_placeholders_differ_shows_in_english_not_broken(root: Path):
    reloader = ContentReloader(None, root)
    english = "How to join: ask {routes}."
    replace_in(nl_po(root), 'msgstr "Wil je meedoen? Vraag het dan aan {routes}."', 'msgstr "Vraag het aan {route}."')
    report = asyncio.run(reloader.check_for_changes())
    assert report is not None and report.compiled == ["nl"]
    assert shown(root, "programmes", english) == english
    assert any("placeholders differ" in str(problem) for problem in report.problems)


def test_a_broken_article_is_reported_to_the_group(root: Path):
    messenger = FakeMessenger()
    reloader = ContentReloader(messenger, root)
    (root / "content" / "nl" / "sleep.md").write_text("Geen titel\n", encoding="utf-8")
    asyncio.run(reloader.check_for_changes())
    [post] = messenger.posts
    assert "content/nl/sleep.md: nl/sleep.md must start with a '# Title' line" in post.text
