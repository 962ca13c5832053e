"""`python -m bot escalations`: the escalation log for coordinators and the programme lead.

Reads the same database as the bot. Nothing here shows a Telegram id, a name or message text:
people and coordinators appear as short pseudonymous keys.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from bot.storage.escalations import EscalationLog, EscalationView, EventView

FIELDS = ("id", "created_at", "status", "level", "categories", "language", "residence", "person", "claimed_by")


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """ "7d", "24h", "30m" or an ISO date such as 2026-11-01."""
    if not text:
        return None
    now = now or datetime.now(timezone.utc)
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text[-1:] in units and text[:-1].isdigit():
        return now - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since takes 7d, 24h, 30m or a date such as 2026-11-01, not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def short(key: str | None) -> str:
    """A pseudonymous key, shortened for reading; 'erased' once the person deleted their data."""
    if key is None:
        return "erased"
    return key.split("-", 1)[-1][:12]


def row(view: EscalationView) -> dict[str, object]:
    return {
        "id": view.id,
        "created_at": view.created_at.isoformat(timespec="seconds"),
        "status": view.status,
        "level": view.level,
        "categories": ",".join(view.categories),
        "language": view.language,
        "residence": view.residence or "",
        "person": short(view.user_key),
        "claimed_by": short(view.claimed_by) if view.claimed_by else "",
    }


def event_row(event: EventView) -> dict[str, object]:
    return {
        "at": event.at.isoformat(timespec="seconds"),
        "kind": event.kind,
        "by": short(event.actor) if event.actor else "bot",
        "note": event.note or "",
    }


def render(rows: Sequence[dict[str, object]], fmt: str, fields: Sequence[str]) -> str:
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    if not rows:
        return "(none)"
    widths = {f: max(len(f), *(len(str(r[f])) for r in rows)) for f in fields}
    lines = ["  ".join(f.ljust(widths[f]) for f in fields)]
    lines += ["  ".join(str(r[f]).ljust(widths[f]) for f in fields) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def list_escalations(log: EscalationLog, since: str | None, status: str | None, level: str | None, fmt: str) -> str:
    views = log.list(since=parse_since(since), status=status, level=level)
    return render([row(view) for view in views], fmt, FIELDS)


def show_escalation(log: EscalationLog, escalation_id: int, fmt: str) -> str | None:
    view = log.get(escalation_id)
    if view is None:
        return None
    history = [event_row(event) for event in log.history(escalation_id)]
    if fmt == "json":
        return json.dumps({**row(view), "history": history}, ensure_ascii=False, indent=2)
    return render([row(view)], fmt, FIELDS) + "\n\n" + render(history, fmt, ("at", "kind", "by", "note"))
