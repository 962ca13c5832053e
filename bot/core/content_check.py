"""`python -m bot content check`: everything an editor or translator can touch, checked the way
the bot will read it, with problems told in words an editor understands: the file, the line, what
is wrong and how to fix it. `make test` runs it.

What it checks: the translations (missing, marked fuzzy, placeholders that differ from the
English, right-to-left lines that start with Latin letters), the articles (title line, parts a
Telegram message can hold, placeholders that exist, files for topics that do not exist, phone
numbers written out instead of taken from the resources file), content/topics.yml against the
domain's intents, and the group programmes and their translations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from babel.messages.pofile import PoFileError, read_po

from bot import PROJECT_ROOT
from bot.core import programmes
from bot.core.articles import MAX_PART_CHARS, ContentError, parse_article
from bot.core.languages import SUPPORTED, is_rtl
from bot.core.organisation import load_organisation
from bot.core.resources import load_resources
from bot.core.safety.examples import NLU_RISK_INTENTS
from bot.core.safety.lexicon import LEVELS, Lexicon, LexiconError, compile_pattern
from bot.core.safety.normalize import normalize
from bot.core.text_direction import starts_left_to_right

PLACEHOLDER = re.compile(r"\{(\w+)\}")
#: A Dutch phone number written out (0800-0113, 088-1122112, +31-800-0113).
PHONE = re.compile(r"(?<![\w{+-])(?:\+31[-\s]?\d{1,3}[-\s]?\d{3,4}[-\s]?\d{0,4}|0\d{2,3}-\d{4,7})(?![\w-])")


def placeholders_match(english: str, translation: str) -> bool:
    """A translation names exactly the placeholders of its English text (it is filled with them)."""
    return set(PLACEHOLDER.findall(translation)) == set(PLACEHOLDER.findall(english))


def intent_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, example) for every training example of an NLU file; none when it cannot be read."""
    try:
        blocks = yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return []
    return [
        (block["intent"], line.strip()[2:])
        for block in blocks
        if "intent" in block
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    what: str
    fix: str

    def __str__(self) -> str:
        place = f"{self.path}:{self.line}" if self.line else self.path
        return f"{place}: {self.what}\n    → {self.fix}"


def relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def check(root: Path = PROJECT_ROOT) -> list[Problem]:
    """Every problem found under `root` (a checkout: content/, locales/, domain/)."""
    return [
        *check_catalogs(root),
        *check_topics(root),
        *check_articles(root),
        *check_programmes(root),
        *check_lexicons(root),
    ]


# --- translations ---------------------------------------------------------------------------------
def check_catalogs(root: Path) -> Iterator[Problem]:
    template_path = root / "locales" / "messages.pot"
    try:
        with template_path.open("rb") as handle:
            wanted = {(m.context, m.id) for m in read_po(handle) if m.id}
    except (OSError, PoFileError) as error:
        yield Problem(relative(template_path, root), None, f"cannot be read ({error})", "run `make extract`")
        return
    for language in SUPPORTED:
        if language == "en":
            continue
        path = root / "locales" / language / "LC_MESSAGES" / "messages.po"
        name = relative(path, root)
        try:
            with path.open("rb") as handle:
                catalog = read_po(handle, abort_invalid=True)
        except (OSError, PoFileError, ValueError) as error:
            yield Problem(name, getattr(error, "lineno", None), f"cannot be read: {error}", "fix the line it names")
            continue
        done = set()
        for message in catalog:
            if not message.id:
                continue
            text = message.string if isinstance(message.string, str) else "".join(message.string)
            short = message.id if isinstance(message.id, str) else message.id[0]
            short = short.replace("\n", " ")[:70]
            if message.fuzzy:
                yield Problem(
                    name, message.lineno, f"marked fuzzy (not shown): “{short}”", "check it, then remove the fuzzy mark"
                )
                continue
            if not text:
                continue
            done.add((message.context, message.id))
            if not placeholders_match(str(message.id), text):
                yield Problem(
                    name,
                    message.lineno,
                    f"the placeholders differ from the English: “{short}”",
                    "keep every {name} of the English exactly as it is, and add no other",
                )
            if is_rtl(language):
                for line in text.split("\n"):
                    if starts_left_to_right(line):
                        yield Problem(
                            name,
                            message.lineno,
                            f"a line starts with Latin letters, a number or a placeholder: “{line[:50]}”",
                            "start the line with a word in the language (docs/translators.md, Right-to-left)",
                        )
        for context, message_id in sorted(wanted - done, key=str):
            short = str(message_id).replace("\n", " ")[:70]
            yield Problem(
                name, None, f"not translated yet ({context}): “{short}”", "translate it; until then it shows in English"
            )


# --- topics and articles --------------------------------------------------------------------------
def topics_of(root: Path) -> dict[str, dict]:
    data = yaml.safe_load((root / "content" / "topics.yml").read_text(encoding="utf-8")) or {}
    return dict(data.get("topics") or {})


def check_topics(root: Path) -> Iterator[Problem]:
    path = root / "content" / "topics.yml"
    try:
        topics = topics_of(root)
        domain = yaml.safe_load((root / "domain" / "intents.yml").read_text(encoding="utf-8"))
        intents, entities = set(domain["intents"]), set(domain.get("entities") or [])
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        yield Problem(relative(path, root), None, f"cannot be read: {error}", "compare it with the example at its top")
        return
    for name, entry in topics.items():
        intent = entry.get("intent") if isinstance(entry, dict) else entry
        by_name = isinstance(entry, dict) and intent is None and "topic" in entities  # /show_menu{"topic": ...}
        if not isinstance(entry, dict) or (intent not in intents and not by_name):
            yield Problem(
                relative(path, root),
                None,
                f"topic {name}: its intent {intent!r} is not in domain/intents.yml",
                "use an intent the bot knows, or ask a developer to add one",
            )
        elif entry.get("next", name) not in topics:
            yield Problem(
                relative(path, root),
                None,
                f"topic {name}: next topic {entry['next']!r} does not exist",
                "name a topic of this file",
            )


def known_placeholders() -> set[str]:
    return {*load_resources(), *load_organisation().variables("en")}


def check_articles(root: Path) -> Iterator[Problem]:
    try:
        topics = set(topics_of(root))
    except (OSError, yaml.YAMLError, AttributeError):
        return  # reported by check_topics
    known = known_placeholders()
    numbers = {value for value in load_resources().values()}
    for language in SUPPORTED:
        folder = root / "content" / language
        for path in sorted(folder.glob("*.md")):
            name = relative(path, root)
            if path.stem not in topics:
                yield Problem(
                    name, None, f"{path.stem} is not a topic of content/topics.yml", "rename the file, or add the topic"
                )
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                yield Problem(name, None, "is not saved as UTF-8", "save it as UTF-8 in your editor")
                continue
            yield from check_article_text(name, path.stem, language, text, known, numbers)
        for topic in sorted(topics):
            if not (folder / f"{topic}.md").exists():
                yield Problem(
                    relative(folder / f"{topic}.md", root),
                    None,
                    "missing: people get the English article with a note",
                    "translate content/en/" + f"{topic}.md",
                )


def check_article_text(
    name: str, topic: str, language: str, text: str, known: set[str], numbers: set[str]
) -> Iterator[Problem]:
    try:
        article = parse_article(topic, language, text, max_part_chars=None)
    except ContentError as error:
        yield Problem(
            name,
            None,
            str(error).split(": ", 1)[-1] if ": " in str(error) else str(error),
            "see docs/translators.md, Writing articles",
        )
        article = None
    for number, line in enumerate(text.splitlines(), 1):
        for placeholder in PLACEHOLDER.findall(line):
            if placeholder not in known:
                yield Problem(
                    name, number, f"unknown placeholder {{{placeholder}}}", f"use one of: {', '.join(sorted(known))}"
                )
        for phone in PHONE.findall(line):
            if phone not in numbers and not any(phone in value for value in numbers):
                yield Problem(
                    name,
                    number,
                    f"a phone number written out that is not in content/resources/nl.yml: {phone}",
                    "write the placeholder instead, e.g. {crisis_line_phone}",
                )
        if is_rtl(language) and starts_left_to_right(line):
            yield Problem(
                name,
                number,
                f"a line starts with Latin letters, a number or a placeholder: “{line[:50]}”",
                "start the line with a word in the language",
            )
    if article is not None:
        for index, part in enumerate(article.parts, 1):
            if len(part) > MAX_PART_CHARS:
                yield Problem(
                    name,
                    None,
                    f"part {index} has {len(part)} characters",
                    f"split it with a line `---` (at most {MAX_PART_CHARS})",
                )


# --- group programmes -----------------------------------------------------------------------------
def check_programmes(root: Path) -> Iterator[Problem]:
    path = root / "content" / "programmes.yml"
    try:
        known = {programme.id for programme in programmes.load(path)}
    except programmes.ProgrammesError as error:
        yield Problem(
            relative(path, root), None, str(error).split(": ", 1)[-1], "compare it with the first entry of the file"
        )
        return
    for language in SUPPORTED:
        if language == "en":
            continue
        translated_path = root / "content" / language / "programmes.yml"
        name = relative(translated_path, root)
        try:
            about = programmes.translated_about(language, root / "content")
        except programmes.ProgrammesError as error:
            yield Problem(name, None, str(error).split(": ", 1)[-1], "check the quotes and the indentation")
            continue
        for missing in sorted(known - set(about)):
            yield Problem(
                name, None, f"no description of {missing} yet (shown in English)", f'add a line `  {missing}: "..."`'
            )
        for unknown in sorted(set(about) - known):
            yield Problem(
                name, None, f"{unknown} is not a programme of content/programmes.yml", "check the spelling of the id"
            )


# --- safety word lists ----------------------------------------------------------------------------
def everyday_examples(root: Path, language: str) -> list[tuple[str, str]]:
    """The NLU training examples of the everyday intents (nlu/<lang>/*.yml): (as written, normalized)."""
    return [
        (text, normalize(text))
        for path in sorted((root / "nlu" / language).glob("*.yml"))
        for intent, text in intent_examples(path)
        if intent not in NLU_RISK_INTENTS
    ]


def check_lexicons(root: Path) -> Iterator[Problem]:
    """Word lists that cannot be read, phrases that can never match their own words, and phrases
    that raise an alarm on an everyday question of the intent examples ("I cannot sleep")."""
    for path in sorted((root / "content" / "safety").glob("*.yml")):
        if path.stem not in SUPPORTED:
            continue
        name = relative(path, root)
        try:
            Lexicon.load(path)
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (LexiconError, yaml.YAMLError, OSError) as error:
            yield Problem(name, None, str(error).split(": ", 1)[-1], "see the pattern syntax at the top of the file")
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        everyday = everyday_examples(root, path.stem)
        for level in (*LEVELS, "violence"):
            for phrases in (data.get(level) or {}).values():
                for phrase in phrases or []:
                    line = next(
                        (
                            n
                            for n, text in enumerate(lines, 1)
                            if text.strip().strip("-").strip().strip("'\"") == phrase
                        ),
                        None,
                    )
                    pattern = re.compile(compile_pattern(phrase))
                    literal = "~" not in phrase and "*" not in phrase.split()
                    if literal and not pattern.search(normalize(phrase.replace("*", ""))):
                        yield Problem(
                            name,
                            line,
                            f"“{phrase}” can never match, not even its own words",
                            "write it as people type it",
                        )
                    hit = next((written for written, folded in everyday if pattern.search(folded)), None)
                    if hit is not None:
                        yield Problem(
                            name,
                            line,
                            f"“{phrase}” ({level}) raises an alarm on the everyday question “{hit}” (nlu/{path.stem}/)",
                            "make the phrase longer or more exact, or add the everyday wording to not_risk",
                        )


def main(root: Path = PROJECT_ROOT) -> int:
    problems = check(root)
    for problem in problems:
        print(problem)
    print(f"\n{len(problems)} problem(s) found." if problems else "Content check: everything is in order.")
    return 1 if problems else 0
