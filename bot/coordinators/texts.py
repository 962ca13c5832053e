"""What coordinators read in their group: alerts, booking requests and the log, with their
buttons. In English, the programme's working language; everything the person reads is in
their own language (bot/coordinators/handoff.py, through the catalogs)."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.conversation.ports import Keyboard
from bot.core import languages
from bot.core.protocol import Button
from bot.storage.bookings import CLOSED, MAX_SESSIONS, BookingView
from bot.storage.escalations import CLAIMED, OPEN, EscalationView

LEVEL_NAMES = {
    "acute": "acute risk",
    "distress": "severe distress",
    "request": "asked for a person",
    "third_party": "someone else at risk",
    "violence": "violence at home",
}
RESIDENCE_NAMES = {
    "azc": "reception centre (azc): GZA Praktijklijn",
    "municipality": "municipality: own GP",
    "other": "elsewhere or not said: both routes shown",
}
#: What an older relayed message is overwritten with once the person erased their data.
ERASED = "🗑️ Erased at the person's request."
ONLY_COORDINATORS = "Only coordinators listed in COORDINATOR_USER_IDS can do this."


def ago(moment: datetime, now: datetime | None = None) -> str:
    minutes = int(((now or datetime.now(timezone.utc)) - moment).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def level_name(level: str | None) -> str:
    return LEVEL_NAMES.get(level or "", level or "")


def alert_text(view: EscalationView, overdue: bool = False) -> str:
    head = "🚨 URGENT" if view.urgent else "🔔"
    lines = [f"#{view.id} {head} · {level_name(view.level)}"]
    if overdue:
        lines.append(f"⏰ OVERDUE: nobody has claimed this for {ago(view.created_at)[:-4]}.")
    if view.categories:
        lines.append("Signs: " + ", ".join(category.replace("_", " ") for category in view.categories))
    lines.append(f"Language: {languages.native_name(view.language)} ({view.language})")
    lines.append("Lives in: " + RESIDENCE_NAMES.get(view.residence or "", "not known yet"))
    lines.append(f"Opened: {ago(view.created_at)}")
    if view.excerpt:
        lines.append("Recent messages:")
        lines.extend(f"› {line}" for line in view.excerpt.split("\n"))
    if view.chat_id is None:
        lines.append("(This person cannot be reached from the group.)")
    return "\n".join(lines)


def alert_buttons(view: EscalationView) -> Keyboard:
    if view.status == OPEN:
        first = Button("✋ Claim", f"esc:claim:{view.id}")
    elif view.status == CLAIMED:
        first = Button("↩️ Release", f"esc:release:{view.id}")
    else:
        return ()
    second_row = [Button("📝 Add note", f"esc:note:{view.id}")]
    if view.status == CLAIMED:
        # Only the coordinator who claimed it writes to the person; a colleague takes over openly.
        second_row.append(Button("🤝 Take over", f"esc:takeover:{view.id}"))
    return ([first, Button("✅ Resolve", f"esc:resolve:{view.id}")], second_row)


def booking_text(view: BookingView, asked: int) -> str:
    contact = "here in the chat" if view.contact == "chat" else "another way: reply here to ask them how"
    lines = [
        f"B{view.id} 📅 Request for a talk · {view.status}",
        f"Language for the talk: {view.session_language}",
        f"Days and times: {view.times}",
        f"Contact: {contact}",
        f"Writes in: {languages.native_name(view.language)} ({view.language})",
        f"Talks asked for: {asked} of {MAX_SESSIONS}",
    ]
    if view.status not in CLOSED:
        lines.append("Reply to this message to write to the person.")
    return "\n".join(lines)


def booking_buttons(view: BookingView) -> Keyboard:
    if view.status in CLOSED:
        return ()
    buttons = [("🗓️ Scheduled", "scheduled"), ("✅ Done", "done"), ("✖️ Cancelled", "cancelled")]
    return ([Button(title, f"book:{status}:{view.id}") for title, status in buttons],)


def untranslated_crisis_texts(missing: dict[str, int]) -> str:
    counts = ", ".join(f"{language} ({count})" for language, count in sorted(missing.items()))
    return (
        f"⚠️ Some crisis texts are not translated yet: {counts}. People writing in these languages see "
        "those texts in English, with the right numbers. Please ask a translator (docs/translators.md)."
    )


def summary_line(view: EscalationView) -> str:
    return (
        f"#{view.id} · {view.status} · {level_name(view.level)} · {view.language} · "
        f"{view.created_at:%Y-%m-%d %H:%M} UTC"
    )
