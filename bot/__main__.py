"""Command line: `python -m bot run` starts everything; `python -m bot --help` lists the rest."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time

from bot.assistant import Assistant
from bot.i18n import default_catalogs
from bot.identity import pseudonym
from bot.rasa_client import RasaClient
from bot.settings import SettingError, Settings
from bot.supervisor import Supervisor
from bot.telegram_app import TelegramFrontEnd, WebhookConfig
from bot.terminal import TerminalChat, stdin_reader
from bot.users import MemoryUserStore


def progress(message: str) -> None:
    print(f"[bot] {message}", file=sys.stderr, flush=True)


async def run(settings: Settings, language: str | None) -> int:
    """Starts the servers (unless RASA_URL is set), then Telegram or, without a token, the terminal chat."""
    started = time.monotonic()
    supervisor = Supervisor(settings, progress) if settings.start_servers else None
    rasa = RasaClient(settings.rasa_url, settings.rasa_auth_token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    telegram = None
    try:
        if supervisor:
            await supervisor.start()
        assistant = Assistant(rasa, MemoryUserStore(), default_catalogs())
        stop_task = asyncio.create_task(stop.wait())
        if settings.telegram_token:
            telegram = TelegramFrontEnd(
                settings.telegram_token,
                settings.telegram_api_url,
                assistant,
                default_catalogs(),
                settings.pseudonym_secret,
                settings.coordinator_chat_id,
            )
            webhook = None
            if settings.webhook_url:
                webhook = WebhookConfig(
                    settings.webhook_url, settings.webhook_secret, settings.webhook_listen, settings.webhook_port
                )
            await telegram.start(webhook)
            mode = "by webhook" if webhook else "by long polling"
            progress(f"Ready after {time.monotonic() - started:.1f} s. Answering on Telegram {mode}; Ctrl-C stops.")
            await stop_task
            return 0
        progress(f"Ready after {time.monotonic() - started:.1f} s. Type a message; numbers press buttons; Ctrl-D ends.")
        chat = TerminalChat(assistant, pseudonym("terminal", os.getpid(), settings.pseudonym_secret))
        chat_task = asyncio.create_task(chat.run(await stdin_reader(), language))
        await asyncio.wait({chat_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in (chat_task, stop_task):
            task.cancel()
        return 0
    finally:
        progress("Stopping...")
        if telegram:
            await telegram.stop()
        await rasa.close()
        if supervisor:
            await supervisor.stop()
        progress("Stopped.")


def safety_check(language: str | None, use_nlu: bool) -> int:
    """One message per line in, one JSON decision per line out: the same decision the bot makes.

    The lexicons decide first; when they see nothing and Rasa is reachable (RASA_URL, with
    RASA_AUTH_TOKEN), the model's risk intents decide, as in a conversation.
    """
    from bot.languages import resolve
    from bot.safety import SafetyScreen, net

    screen = SafetyScreen.load()
    rasa_url, token = os.environ.get("RASA_URL", ""), os.environ.get("RASA_AUTH_TOKEN", "")
    for line in sys.stdin:
        text = line.rstrip("\n")
        assessment = screen.assess(text)
        nlu = "skipped" if not use_nlu or not rasa_url else "unreachable"
        if use_nlu and rasa_url and not assessment.is_risk:
            parsed = net.parse(rasa_url, token, text)
            if parsed is not None:
                nlu = "used"
                assessment = net.from_parse(parsed)
        reply_language = language if language in assessment.languages or not assessment.languages else None
        result = json.loads(assessment.to_json())
        result["reply_language"] = resolve(reply_language or (assessment.languages or (language,))[0])
        result["nlu"] = nlu
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def safety_eval(directory: str) -> int:
    from pathlib import Path

    from bot.safety import SafetyScreen
    from bot.safety.evaluation import evaluate, report

    print(report(evaluate(SafetyScreen.load(), Path(directory))))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="start the Rasa and action servers and the chat")
    run_parser.add_argument("--language", help="the language to start in (en, nl, ar, fa, uk, es)")
    check_parser = commands.add_parser("safety-check", help="screen messages from standard input, one per line")
    check_parser.add_argument("--lang", help="the person's language, for the reply")
    check_parser.add_argument(
        "--no-nlu",
        action="store_true",
        help="skip the Rasa net (the screen's lexicons decide alone; the Rasa net is not built yet)",
    )
    eval_parser = commands.add_parser("safety-eval", help="recall and false alarms per language on a labelled set")
    eval_parser.add_argument("--dir", default="tests/safety", help="folder of <lang>.yml sets (default tests/safety)")
    args = parser.parse_args(argv)
    if args.command == "safety-check":
        return safety_check(args.lang, use_nlu=not args.no_nlu)
    if args.command == "safety-eval":
        return safety_eval(args.dir)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL, and Telegram's URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except SettingError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if args.command == "run":
        return asyncio.run(run(settings, args.language))
    return 2


if __name__ == "__main__":
    sys.exit(main())
