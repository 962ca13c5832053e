"""Command line: `python -m bot run` starts everything; `python -m bot --help` lists the rest."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from bot import app
from bot.core import log_privacy
from bot.settings import SettingError, Settings
from bot.storage.bookings import BookingLog
from bot.storage.db import Database, DatabaseError
from bot.storage.escalations import EscalationLog
from bot.storage.privacy import Privacy
from bot.storage.users import SqlUserStore


def safety_check(language: str | None, use_nlu: bool, use_model: bool) -> int:
    """One message per line in, one JSON decision per line out: the same decision the bot makes.

    `level` is acute, distress, third_party, violence, ask or none; `nets` says which nets fired
    and `scores` gives the model net's probabilities. When the screen sees no risk and Rasa is
    reachable (RASA_URL, with RASA_AUTH_TOKEN), the Rasa model's risk intents have the last word,
    as in a conversation.
    """
    from bot.core.languages import resolve
    from bot.core.safety import net
    from bot.core.safety.nets import RiskScreen, with_rasa

    screen = RiskScreen.load(use_model=None if use_model else False)
    if screen.problem:
        print(f"Note: {screen.problem}", file=sys.stderr)
    rasa_url, token = os.environ.get("RASA_URL", ""), os.environ.get("RASA_AUTH_TOKEN", "")
    for line in sys.stdin:
        text = line.rstrip("\n")
        assessment = screen.assess(text)
        nlu = "skipped" if not use_nlu or not rasa_url else "unreachable"
        if use_nlu and rasa_url:
            parsed = net.parse(rasa_url, token, text)
            if parsed is not None:
                nlu = "used"
                assessment = with_rasa(assessment, parsed)
        reply_language = language if language in assessment.languages or not assessment.languages else None
        result = json.loads(assessment.to_json())
        result["reply_language"] = resolve(reply_language or (assessment.languages or (language,))[0])
        result["nlu"] = nlu
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def safety_eval(directory: str | None, lexicons_only: bool) -> int:
    """Without --dir: the whole screen on the frozen held-out set, per language and category.
    With --dir tests/safety: the lexicon net alone on its own (tuned) regression set."""
    from pathlib import Path

    from bot.core.safety import Level, SafetyScreen, net
    from bot.core.safety.evaluation import evaluate, markdown_report, report, tally
    from bot.core.safety.examples import HELDOUT_DIR, ExamplesError, load_dir
    from bot.core.safety.nets import RiskScreen, with_rasa

    try:
        examples = load_dir(Path(directory) if directory else HELDOUT_DIR)
    except ExamplesError:  # plain lists per label: the lexicons' own regression set
        print(report(evaluate(SafetyScreen.load(), Path(directory or "tests/safety"))))
        return 0
    screen = RiskScreen.load(use_model=not lexicons_only)
    if screen.problem:
        print(f"Note: {screen.problem}", file=sys.stderr)
    rasa_url, token = os.environ.get("RASA_URL", ""), os.environ.get("RASA_AUTH_TOKEN", "")

    def level(text: str) -> Level:
        """As in a conversation: with RASA_URL set, Rasa's reading has its say (nets.with_rasa)."""
        assessment = screen.assess(text)
        return with_rasa(assessment, net.parse(rasa_url, token, text)).level if rasa_url else assessment.level

    said = [(e.language, e.label, e.category, level(e.text)) for e in examples]
    table = tally(said)
    print(markdown_report(table))
    print()
    for (language, label, category, level), example in zip(said, examples, strict=True):
        wanted = "none" if label == "none" else label
        if (label == "none") != (level.value == "none"):
            print(f"  [{language}] {wanted}/{category} → {level.value}: {example.text}")
    return 0


def preview(language: str, topic: str) -> int:
    """An article as a person reads it on Telegram: one block per message, with its length."""
    from bot.core.articles import ContentError, Library
    from bot.core.languages import SUPPORTED, is_rtl
    from bot.core.text_direction import mark_right_to_left
    from bot.telegram_front.sending import MAX_MESSAGE_CHARS, split_message

    if language not in SUPPORTED:
        print(f"Unknown language {language!r}; use one of: {', '.join(SUPPORTED)}", file=sys.stderr)
        return 2
    library = Library()
    try:
        if topic not in library.topics():
            print(f"Unknown topic {topic!r}; the topics are: {', '.join(library.topics())}", file=sys.stderr)
            return 2
        article = library.article(topic, language)
    except ContentError as error:
        print(f"Cannot show it: {error}", file=sys.stderr)
        return 1
    if article.language != language:
        print(f"(Not written in {language} yet: people get the English article, with a note.)\n")
    first, *rest = article.parts
    texts = [f"{article.title}\n\n{first}", *rest]
    messages = [
        piece
        for text in texts
        for piece in split_message(mark_right_to_left(text) if is_rtl(article.language) else text)
    ]
    for number, message in enumerate(messages, 1):
        size = f"{len(message)} characters (Telegram's limit: {MAX_MESSAGE_CHARS})"
        print(f"── message {number} of {len(messages)}: {size} ──")
        print(message.replace("\u200e", "").replace("\u200f", ""))
        print()
    return 0


def safety_train() -> int:
    """Trains the model net on content/safety/examples/ and chooses its thresholds."""
    from bot.core.safety.encoder import E5Encoder, EncoderUnavailable
    from bot.core.safety.model_net import MODEL_PATH, choose_thresholds, train
    from bot.core.safety.nets import decide
    from bot.core.safety.screen import SafetyScreen

    try:
        encoder = E5Encoder.load(threads=os.cpu_count())
    except EncoderUnavailable as error:
        print(f"Cannot train the safety model net: {error}", file=sys.stderr)
        return 1
    model, development, examples = train(encoder)
    lexicons = SafetyScreen.load()
    lexical = [lexicons.assess(example.text) for example in examples]
    model.thresholds, figures = choose_thresholds(development, examples, lexical, decide)
    model.save(MODEL_PATH)
    print(
        f"Safety model net: {len(examples)} examples, thresholds {model.thresholds}; on the development split "
        + ", ".join(f"{name} {value:.1%}" for name, value in figures.items())
    )
    return 0


def intent_train() -> int:
    """Trains the intent net and the topic net (bot/core/intent_net.py) on every language's NLU examples."""
    from bot.core import intent_net
    from bot.core.safety.encoder import E5Encoder, EncoderUnavailable
    from bot.core.safety.model_net import embed_cached

    try:
        encoder = E5Encoder.load(threads=os.cpu_count())
    except EncoderUnavailable as error:
        print(f"Cannot train the intent net: {error}", file=sys.stderr)
        return 1
    examples = intent_net.training_examples()
    net, figures = intent_net.train(embed_cached(encoder, [example.text for example in examples]), examples)
    net.save()
    print(
        f"Intent net: {len(examples)} examples, {len(net.intents)} intents, threshold {net.threshold:.2f}; "
        f"out of fold in {', '.join(intent_net.READ_BY_NET)}: "
        + ", ".join(f"{name} {value:.1%}" for name, value in figures.items())
    )
    examples = intent_net.training_examples(topics=True)
    topics, figures = intent_net.train_topics(embed_cached(encoder, [e.text for e in examples]), examples)
    topics.save(intent_net.TOPIC_MODEL_PATH)
    print(
        f"Topic net: {len(examples)} examples, margin {topics.topic_margin:.2f}; out of fold, every language: "
        + ", ".join(f"{name} {value:.1%}" for name, value in figures.items() if name != "topic_margin")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="start the Rasa and action servers and the chat")
    run_parser.add_argument("--language", help="the language to start in (en, nl, ar, fa, uk, es)")
    check_parser = commands.add_parser("safety-check", help="screen messages from standard input, one per line")
    check_parser.add_argument("--lang", help="the person's language, for the reply")
    check_parser.add_argument("--no-nlu", action="store_true", help="without the Rasa net (the third opinion)")
    check_parser.add_argument("--no-model", action="store_true", help="without the model net: the lexicons alone")
    eval_parser = commands.add_parser("safety-eval", help="recall and false alarms per language on a labelled set")
    eval_parser.add_argument(
        "--dir", help="a folder of <lang>.yml sets (default: the frozen held-out set, tests/safety/heldout)"
    )
    eval_parser.add_argument("--lexicons-only", action="store_true", help="without the model net")
    commands.add_parser("safety-train", help="train the safety screen's model net on content/safety/examples")
    commands.add_parser("intent-train", help="train the intent net for the languages Rasa's own model does not read")
    content_parser = commands.add_parser(
        "content", help="for editors: check the texts, articles and translations, or show how far each language is"
    )
    content_parser.add_argument("action", choices=("check", "coverage"))
    content_parser.add_argument("--markdown", action="store_true", help="with coverage: a Markdown table")
    preview_parser = commands.add_parser("preview", help="for editors: an article as a person sees it on Telegram")
    preview_parser.add_argument("language", help="en, nl, ar, fa, uk or es")
    preview_parser.add_argument("topic", help="a topic of content/topics.yml, e.g. sleep")
    commands.add_parser("migrate", help="create or update the database schema (run and tests do this too)")
    commands.add_parser("purge", help="delete data past its retention period now (the bot also does it daily)")
    log_parser = commands.add_parser(
        "escalations", help="the escalation log: list, show or export; report draws the last weeks as a picture"
    )
    log_parser.add_argument("action", choices=("list", "show", "export", "report"))
    log_parser.add_argument("id", nargs="?", type=int, help="with show: the escalation's number")
    log_parser.add_argument("--since", help="7d, 24h, 30m or a date such as 2026-11-01")
    log_parser.add_argument("--status", choices=("open", "claimed", "resolved", "expired"))
    log_parser.add_argument("--level", choices=("acute", "distress", "request"))
    log_parser.add_argument("--format", choices=("table", "csv", "json"), help="default: table; export: csv")
    log_parser.add_argument("--weeks", type=int, default=8, help="with report: how many weeks (default 8)")
    log_parser.add_argument("--out", default=".", help="with report: the folder for the PNG and the HTML page")
    args = parser.parse_args(argv)
    if args.command == "safety-check":
        return safety_check(args.lang, use_nlu=not args.no_nlu, use_model=not args.no_model)
    if args.command == "safety-eval":
        return safety_eval(args.dir, args.lexicons_only)
    if args.command == "safety-train":
        return safety_train()
    if args.command == "intent-train":
        return intent_train()
    if args.command == "preview":
        return preview(args.language, args.topic)
    if args.command == "content":
        from bot.core import content_check, content_coverage

        return content_coverage.main(args.markdown) if args.action == "coverage" else content_check.main()
    log_privacy.configure(os.environ.get("LOG_LEVEL", "WARNING"))
    try:
        settings = Settings.from_env(require_model=args.command == "run")
    except SettingError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    # Now that they are known, the secrets themselves are kept out of every log line too.
    log_privacy.configure(
        os.environ.get("LOG_LEVEL", "WARNING"),
        [settings.telegram_token, settings.pseudonym_secret, settings.rasa_auth_token],
    )
    if args.command == "run":
        return asyncio.run(app.run(settings, args.language))
    try:
        database = app.open_database(settings)
    except DatabaseError as error:
        print(f"Cannot open the database at DATABASE_URL: {type(error).__name__}. Is it running?", file=sys.stderr)
        return 1
    if args.command == "purge":
        privacy = Privacy(database, SqlUserStore(database), EscalationLog(database), BookingLog(database))
        report = privacy.purge(
            timedelta(days=settings.retention_days), timedelta(days=settings.escalation_retention_days)
        )
        print(
            f"Deleted {report.conversation_events} conversation events, {report.users} profiles, "
            f"{report.escalations} closed escalations and {report.bookings} closed booking requests "
            "past their retention period."
        )
        return 0
    if args.command == "escalations":
        if args.action == "report":
            return escalations_picture(database, settings, args.weeks, Path(args.out))
        return escalations_command(EscalationLog(database), args)
    return 0


def escalations_picture(database: Database, settings: Settings, weeks: int, out: Path) -> int:
    """Writes escalations-report.png and escalations-report.html into `out`."""
    from bot.coordinators import picture

    if not 1 <= weeks <= 104:
        print("--weeks takes a number from 1 to 104.", file=sys.stderr)
        return 2
    report = picture.gather(database, weeks, settings.coordinator_hours)
    png = picture.draw(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "escalations-report.png").write_bytes(png)
    (out / "escalations-report.html").write_text(picture.html_page(report, png), encoding="utf-8")
    print("\n".join([f"Escalations and bookings, {report.period}:", *picture.headline(report)]))
    print(f"Wrote {out / 'escalations-report.png'} and {out / 'escalations-report.html'}")
    return 0


def escalations_command(log: EscalationLog, args: argparse.Namespace) -> int:
    from bot.coordinators import report as escalation_report

    fmt = args.format or ("csv" if args.action == "export" else "table")
    if args.action == "show":
        if args.id is None:
            print("Which one? e.g. python -m bot escalations show 12", file=sys.stderr)
            return 2
        text = escalation_report.show_escalation(log, args.id, fmt)
        if text is None:
            print(f"There is no escalation {args.id}.", file=sys.stderr)
            return 1
        print(text)
        return 0
    try:
        print(escalation_report.list_escalations(log, args.since, args.status, args.level, fmt))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
