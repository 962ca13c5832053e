"""Editors' changes reach the running bot without a developer, a retraining or a restart.

Articles and the group programmes are read from disk for every reply already. Translations are
compiled here: a PO file that changed is compiled into the .mo file that all three processes
reload within seconds (bot/core/i18n.py). A PO file that cannot be read is not compiled, so the
last good version stays in use. After each change, or a coordinator's /reload in the group, the
content is checked (bot/core/content_check.py) and the coordinators' group is told, in plain
words, what was reloaded and what is broken.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

from bot import PROJECT_ROOT
from bot.conversation.ports import Messenger
from bot.core import content_check
from bot.core.content_check import placeholders_match

log = logging.getLogger(__name__)

RELOAD_COMMAND = "/reload"
WATCH_SECONDS = 10.0
#: At most this many problems in the group's message; `python -m bot content check` lists them all.
SHOWN_PROBLEMS = 8


@dataclass
class Report:
    compiled: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    problems: list[content_check.Problem] = field(default_factory=list)

    def text(self) -> str:
        lines = ["📝 Content reloaded."]
        if self.compiled:
            lines.append(f"Translations now in use: {', '.join(self.compiled)}.")
        lines += [f"⚠️ {refused}: cannot be read, so its last good version stays in use." for refused in self.refused]
        if self.problems:
            lines.append(f"⚠️ {len(self.problems)} problem(s) to fix (a broken text shows in English meanwhile):")
            lines += [f"• {str(problem).splitlines()[0]}" for problem in self.problems[:SHOWN_PROBLEMS]]
            if len(self.problems) > SHOWN_PROBLEMS:
                lines.append("The full list: python -m bot content check")
        else:
            lines.append("✅ The content check found nothing to fix.")
        return "\n".join(lines)


def compile_catalog(po: Path) -> None:
    """PO → MO next to it, replaced in one step so that no process reads half a file. A text whose
    placeholders differ from the English is left out (shown in English): filled in, it would fail."""
    with po.open("rb") as handle:
        catalog = read_po(handle, abort_invalid=True)
    for message in catalog:
        text = message.string if isinstance(message.string, str) else ""
        if message.id and text and not placeholders_match(str(message.id), text):
            message.string = ""
    with tempfile.NamedTemporaryFile("wb", dir=po.parent, delete=False, suffix=".tmp") as handle:
        try:
            write_mo(handle, catalog, use_fuzzy=False)
        except Exception:
            Path(handle.name).unlink(missing_ok=True)
            raise
    os.replace(handle.name, po.with_suffix(".mo"))


class ContentReloader:
    def __init__(self, messenger: Messenger | None, root: Path = PROJECT_ROOT) -> None:
        self.messenger = messenger
        self.root = root
        self._seen = self._fingerprint()

    def _watched(self) -> list[Path]:
        """What the bot reads anew while it runs. The help lines, the organisation's facts and the
        safety word lists are read at start: a change to them needs a restart."""
        content = self.root / "content"
        return [
            *sorted((self.root / "locales").glob("*/LC_MESSAGES/messages.po")),
            *sorted(content.glob("*/*.md")),
            *sorted(content.glob("*/programmes.yml")),
            content / "programmes.yml",
            content / "topics.yml",
        ]

    def _fingerprint(self) -> dict[Path, tuple[int, int]]:
        stamps = {}
        for path in self._watched():
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps[path] = (stat.st_mtime_ns, stat.st_size)
        return stamps

    async def check_for_changes(self) -> Report | None:
        """Reloads when a file changed since the last look; None when nothing did."""
        now = self._fingerprint()
        changed = {path for path in now.keys() | self._seen.keys() if now.get(path) != self._seen.get(path)}
        self._seen = now
        if not changed:
            return None
        return await self.reload({path for path in changed if path.suffix == ".po" and path in now})

    async def reload(self, catalogs: set[Path] | None = None) -> Report:
        """Compiles the given PO files (all of them for a coordinator's /reload), checks the content
        and tells the group."""
        report = Report()
        pos = sorted(catalogs) if catalogs is not None else sorted(self.root.glob("locales/*/LC_MESSAGES/messages.po"))
        for po in pos:
            name = str(po.relative_to(self.root))
            try:
                await asyncio.to_thread(compile_catalog, po)
                report.compiled.append(po.parent.parent.name)
            except (OSError, PoFileError, ValueError) as error:
                log.error("Not compiled, the last good version stays in use: %s (%s)", name, type(error).__name__)
                report.refused.append(name)
        report.problems = await asyncio.to_thread(content_check.check, self.root)
        self._seen = self._fingerprint()
        if self.messenger is not None:
            await self.messenger.post(report.text())
        elif report.refused or report.problems:
            log.warning("Content reloaded with %d problem(s): python -m bot content check", len(report.problems))
        return report

    async def watch(self, every: float = WATCH_SECONDS) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.check_for_changes()
            except Exception:
                log.exception("Checking the content for changes failed; trying again")
