"""`python -m bot content check`: the real content passes, and each kind of mistake an editor or
translator can make is reported with its file, its line where there is one, and what to do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.content_check import check
from tests.helpers import ROOT, base_env


def test_the_projects_content_is_in_order():
    assert [str(problem) for problem in check(ROOT)] == []


def test_the_command_says_so_and_exits_0():
    done = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, env=base_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "everything is in order" in done.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The parts an editor touches, copied so that they can be broken."""
    for folder in ("content", "locales", "domain"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def po(root: Path, language: str) -> Path:
    return root / "locales" / language / "LC_MESSAGES" / "messages.po"


def line_of(path: Path, text: str) -> int:
    """The line on which `text` starts (a PO entry is reported at its msgid)."""
    return path.read_text(encoding="utf-8").split(text)[0].count("\n") + 1


def reported(root: Path) -> list[str]:
    return [str(problem) for problem in check(root)]


def test_every_kind_of_mistake_is_reported_where_it_is(copy: Path):
    edit(po(copy, "nl"), 'msgstr "Wil je meedoen? Vraag het dan aan {routes}."', 'msgstr "Wil je meedoen? Vraag het."')
    edit(po(copy, "ar"), 'msgstr "📋 القائمة"', 'msgstr "Menu القائمة"')
    edit(
        po(copy, "fa"),
        'msgctxt "programmes"\nmsgid "🔄 Other answers"',
        '#, fuzzy\nmsgctxt "programmes"\nmsgid "🔄 Other answers"',
    )
    edit(po(copy, "es"), 'msgstr "¿Quieres participar? Habla con {routes}."', 'msgstr ""')
    edit(copy / "content" / "en" / "sleep.md", "\n---\n", "\nCall {crisis_phone} or 0800-1234.\n\n---\n")
    (copy / "content" / "nl" / "slaap.md").write_text("# Slaap\n\nTekst.\n", encoding="utf-8")
    (copy / "content" / "es" / "hope.md").write_text("# Esperanza\n\n" + "palabra " * 600, encoding="utf-8")
    edit(copy / "content" / "uk" / "programmes.yml", "  bamboo_adults:", "  bambo_adults:")
    edit(copy / "content" / "topics.yml", "intent: ask_hope", "intent: ask_hopes")

    problems = "\n".join(reported(copy))

    nl, ar, fa = po(copy, "nl"), po(copy, "ar"), po(copy, "fa")
    at = line_of(nl, 'msgid "How to join: ask {routes}."')
    assert f"locales/nl/LC_MESSAGES/messages.po:{at}: the placeholders differ from the English" in problems
    at = line_of(ar, 'msgid "📋 Menu"\nmsgstr "Menu')
    assert f"locales/ar/LC_MESSAGES/messages.po:{at}: a line starts with Latin letters" in problems
    at = line_of(fa, 'msgid "🔄 Other answers"')
    assert f"locales/fa/LC_MESSAGES/messages.po:{at}: marked fuzzy (not shown): “🔄 Other answers”" in problems
    assert (
        "locales/es/LC_MESSAGES/messages.po: not translated yet (programmes): “How to join: ask {routes}.”" in problems
    )
    assert "unknown placeholder {crisis_phone}" in problems and "content/en/sleep.md:" in problems
    assert "a phone number written out that is not in content/resources/nl.yml: 0800-1234" in problems
    assert "content/nl/slaap.md: slaap is not a topic of content/topics.yml" in problems
    assert "content/es/hope.md: part 1 has" in problems and "split it with a line `---`" in problems
    assert "content/uk/programmes.yml: no description of bamboo_adults yet" in problems
    assert "bambo_adults is not a programme" in problems
    assert "topic hope: its intent 'ask_hopes' is not in domain/intents.yml" in problems
    assert all("\n    → " in problem for problem in reported(copy)), "every problem says what to do"


def test_a_safety_phrase_that_alarms_on_an_everyday_question_or_cannot_be_read_is_named(copy: Path):
    words = copy / "content" / "safety" / "en.yml"
    shutil.copytree(ROOT / "nlu", copy / "nlu")
    edit(words, "    - kill* myself\n", "    - kill* myself\n    - sleep\n")
    problems = "\n".join(reported(copy))
    at = line_of(words, "    - sleep\n")
    assert f"content/safety/en.yml:{at}: “sleep” (acute) raises an alarm on the everyday question" in problems
    edit(words, "    - sleep\n", "    - ~ sleep\n")
    assert "content/safety/en.yml: " in "\n".join(reported(copy)), "a pattern that cannot be compiled"


def test_a_file_that_cannot_be_read_is_named_not_a_traceback(copy: Path):
    (copy / "content" / "programmes.yml").write_text("programmes:\n  - id: [broken\n", encoding="utf-8")
    po(copy, "uk").write_text('msgid "a"\nmsgstr "b"\nthis is not a PO line\n', encoding="utf-8")
    problems = "\n".join(reported(copy))
    assert "content/programmes.yml: " in problems
    assert "locales/uk/LC_MESSAGES/messages.po" in problems and "cannot be read" in problems


# --- coverage ----------------------------------------------------------------------------------------


def test_coverage_shows_how_far_each_language_is(copy: Path):
    from bot.core.content_coverage import render, table

    (copy / "content" / "es" / "hope.md").unlink()
    (copy / "content" / "safety" / "examples" / "am.yml").write_text("language: am\n", encoding="utf-8")
    edit(po(copy, "nl"), 'msgstr "Wil je meedoen? Vraag het dan aan {routes}."', 'msgstr ""')
    rows = {cells[0]: cells for cells in table(copy)}
    topics, texts = rows["en"][2].split("/")[1], int(rows["en"][1].split("/")[1])
    assert rows["es"][2] == f"{int(topics) - 1}/{topics}", "one article fewer in Spanish"
    assert rows["nl"][1] == f"{texts - 1}/{texts}", "one text fewer in Dutch"
    assert rows["am"][1] == f"0/{texts}" and rows["am"][3] == "none", "Amharic has examples, nothing else yet"
    assert int(rows["ar"][8]) > 0, "Arabic has entries marked for a native speaker's review"
    markdown = render(list(rows.values()), markdown=True).splitlines()
    assert markdown[0].startswith("| lang | texts translated | articles |") and len(markdown) == len(rows) + 2


# --- preview -----------------------------------------------------------------------------------------


def preview(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "preview", *args], cwd=ROOT, env=base_env(), capture_output=True, text=True
    )


def test_preview_shows_each_message_as_a_person_reads_it_with_its_length():
    from bot.core.articles import Library

    article = Library().article("sleep", "fa")
    shown = preview("fa", "sleep")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("── message 1 of ")
    assert article.title in shown.stdout and article.parts[-1].splitlines()[-1] in shown.stdout
    assert "characters (Telegram's limit: 4096)" in shown.stdout


def test_preview_names_what_it_does_not_know():
    unknown = preview("fa", "slep")
    assert unknown.returncode == 2 and "Unknown topic 'slep'; the topics are: sleep" in unknown.stderr
    assert "Unknown language 'xx'" in preview("xx", "sleep").stderr
