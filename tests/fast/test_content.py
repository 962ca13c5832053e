"""Articles: present in every language, readable on a phone, and served with English as fallback."""

from __future__ import annotations

import pytest
import yaml

from bot.core.articles import MAX_PART_CHARS, ContentError, Library
from bot.core.languages import SUPPORTED
from tests.helpers import ROOT

LIBRARY = Library()
TOPICS = sorted(LIBRARY.topics())


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_is_written_in_every_language(language, topic):
    article = LIBRARY.read(topic, language)
    assert article.language == language
    assert 2 <= len(article.parts) <= 6
    assert all(len(part) <= MAX_PART_CHARS for part in article.parts)
    assert "{" not in article.title + "".join(article.parts), "every placeholder is filled"


def test_every_topic_is_reached_by_an_intent_of_the_domain():
    intents = set(yaml.safe_load((ROOT / "domain" / "intents.yml").read_text())["intents"])
    topics = LIBRARY.topics()
    assert {topic.intent for topic in topics.values() if topic.intent} <= intents
    asked_by_name = [topic for topic in topics.values() if topic.intent is None]  # /show_menu{"topic": ...}
    assert asked_by_name and "topic" in yaml.safe_load((ROOT / "domain" / "intents.yml").read_text())["entities"]
    assert {topic.next_topic for topic in topics.values()} <= set(topics)


def test_crisis_numbers_come_from_the_resources_file():
    for language in SUPPORTED:
        text = "\n".join(LIBRARY.read("help_someone", language).parts)
        assert "112" in text and "0800-0113" in text and "113.nl" in text and "088-1122112" in text


def test_a_missing_translation_falls_back_to_english(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "sleep.md").write_text("# Sleep\n\nRest well.\n\n---\n\nGood night.\n")
    article = Library(tmp_path).article("sleep", "uk")
    assert (article.language, article.title, article.parts) == ("en", "Sleep", ("Rest well.", "Good night."))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("no title line\n\ntext", "must start with"),
        ("# Title only\n", "no text"),
        ("# Long\n\n" + "x" * 5000, "longer than"),
    ],
)
def test_a_broken_article_is_reported_by_name(tmp_path, content, problem):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hope.md").write_text(content)
    with pytest.raises(ContentError, match=problem):
        Library(tmp_path).article("hope", "en")


def test_an_article_that_is_not_utf8_is_reported(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hope.md").write_bytes(b"# Hope\n\n\xff\xfe broken")
    with pytest.raises(ContentError, match="cannot be read"):
        Library(tmp_path).article("hope", "en")
