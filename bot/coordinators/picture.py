"""The programme's picture: a one-page summary of the last weeks of escalations and booking
requests, drawn from the database as a PNG and as an HTML page with the same figures.

`python -m bot escalations report` writes both files; `/report` in the coordinators' group posts
the picture there, and the bot can post it by itself once a week (REPORT_WEEKLY). Only counts and
times: no message text, no Telegram id, no pseudonymous key.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from bot.core.office_hours import TIMEZONE, OfficeHours
from bot.storage.db import Database
from bot.storage.models import Booking, Escalation, EscalationEvent, aware

#: The order and colours of the escalation levels and the booking outcomes in every chart.
LEVELS = ("acute", "distress", "third_party", "violence", "request")
LEVEL_COLOURS = {
    "acute": "#c0392b",
    "distress": "#e67e22",
    "third_party": "#8e44ad",
    "violence": "#2c3e50",
    "request": "#16a085",
}
BOOKING_STATUSES = ("requested", "scheduled", "done", "cancelled")
BOOKING_COLOURS = {"requested": "#95a5a6", "scheduled": "#3498db", "done": "#27ae60", "cancelled": "#7f8c8d"}
DEFAULT_WEEKS = 8


@dataclass
class Week:
    """One week's figures (Monday to Sunday, Dutch time)."""

    start: date
    levels: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    claim_minutes: list[float] = field(default_factory=list)  # from the alert to the first claim
    reminders: int = 0
    expired: int = 0
    outside_hours: int = 0
    bookings: Counter[str] = field(default_factory=Counter)

    @property
    def escalations(self) -> int:
        return sum(self.levels.values())

    @property
    def label(self) -> str:
        return f"{self.start:%d %b}"


@dataclass
class ProgrammeReport:
    weeks: list[Week]
    made_at: datetime
    hours: str  # the coordinators' hours as described in the settings; "" means always on duty

    @property
    def escalations(self) -> int:
        return sum(week.escalations for week in self.weeks)

    @property
    def claim_minutes(self) -> list[float]:
        return [minutes for week in self.weeks for minutes in week.claim_minutes]

    @property
    def period(self) -> str:
        last = min(self.weeks[-1].start + timedelta(days=6), self.made_at.astimezone(TIMEZONE).date())
        return f"{self.weeks[0].start:%d %b %Y} – {last:%d %b %Y}"

    def languages(self) -> list[str]:
        totals: Counter[str] = sum((week.languages for week in self.weeks), Counter())
        return [language for language, _ in totals.most_common()]

    def levels(self) -> list[str]:
        seen = {level for week in self.weeks for level in week.levels}
        return [level for level in LEVELS if level in seen] + sorted(seen - set(LEVELS))


def week_start(moment: datetime) -> date:
    local = moment.astimezone(TIMEZONE).date()
    return local - timedelta(days=local.weekday())


def gather(
    db: Database, weeks: int = DEFAULT_WEEKS, hours: OfficeHours | None = None, now: datetime | None = None
) -> ProgrammeReport:
    """The last `weeks` weeks, the current one included, from the escalation log and the bookings."""
    hours = hours or OfficeHours()
    now = now or datetime.now(timezone.utc)
    first = week_start(now) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, time(0), TIMEZONE)
    table = {first + timedelta(weeks=index): Week(first + timedelta(weeks=index)) for index in range(weeks)}
    with db.session() as session:
        rows = session.execute(
            select(
                Escalation.id, Escalation.level, Escalation.language, Escalation.created_at, Escalation.status
            ).where(Escalation.created_at >= since)
        ).all()
        events = session.execute(
            select(EscalationEvent.escalation_id, EscalationEvent.kind, EscalationEvent.at)
            .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
            .where(Escalation.created_at >= since, EscalationEvent.kind.in_(("alerted", "claimed", "reminded")))
            .order_by(EscalationEvent.at)
        ).all()
        bookings = session.execute(select(Booking.created_at, Booking.status).where(Booking.created_at >= since)).all()
    first_event: dict[tuple[int, str], datetime] = {}
    reminders: Counter[int] = Counter()
    for escalation_id, kind, at in events:
        first_event.setdefault((escalation_id, kind), aware(at))
        reminders[escalation_id] += kind == "reminded"
    for escalation_id, level, language, created_at, status in rows:
        created_at = aware(created_at)
        week = table.get(week_start(created_at))
        if week is None:
            continue
        week.levels[level] += 1
        week.languages[language] += 1
        week.reminders += reminders[escalation_id]
        week.expired += status == "expired"
        week.outside_hours += not hours.on_duty(created_at)
        claimed = first_event.get((escalation_id, "claimed"))
        if claimed is not None:
            alerted = first_event.get((escalation_id, "alerted"), created_at)
            week.claim_minutes.append(max(0.0, (claimed - alerted).total_seconds() / 60))
    for created_at, status in bookings:
        week = table.get(week_start(aware(created_at)))
        if week is not None:
            week.bookings[status] += 1
    return ProgrammeReport(list(table.values()), now, hours.describe())


def minutes_text(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def headline(report: ProgrammeReport) -> list[str]:
    """The figures a reader looks for first, as short lines (the picture's subtitle, the HTML's
    summary and the caption in the group)."""
    claims = report.claim_minutes
    outside = sum(week.outside_hours for week in report.weeks)
    booked: Counter[str] = sum((week.bookings for week in report.weeks), Counter())
    share = f"{outside / report.escalations:.0%}" if report.escalations else "–"
    return [
        f"{report.escalations} escalations, {len(claims)} claimed; alert to claim: median "
        f"{minutes_text(median(claims))}, worst {minutes_text(max(claims) if claims else None)}",
        f"{sum(week.reminders for week in report.weeks)} reminders, {sum(week.expired for week in report.weeks)} "
        f"expired unclaimed; {share} outside coordinator hours ({report.hours or 'always on duty'})",
        f"{sum(booked.values())} booking requests: "
        + ", ".join(f"{booked[status]} {status}" for status in BOOKING_STATUSES),
    ]


def draw(report: ProgrammeReport) -> bytes:
    """The one-page picture as PNG bytes (matplotlib without pyplot: no global state, safe in a thread)."""
    from matplotlib.figure import Figure

    labels = [week.label for week in report.weeks]
    positions = list(range(len(labels)))
    figure = Figure(figsize=(11.7, 8.3), dpi=100, constrained_layout=True)
    figure.suptitle(f"Escalations and bookings, {report.period}\n" + "\n".join(headline(report)), fontsize=10)
    axes = figure.subplots(3, 2)

    def stacked(ax, series: dict[str, list[int]], colours: dict[str, str], title: str) -> None:  # type: ignore[no-untyped-def]
        bottom = [0] * len(labels)
        for name, values in series.items():
            ax.bar(positions, values, bottom=bottom, label=name.replace("_", " "), color=colours.get(name))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(title, fontsize=10)
        if series:
            ax.legend(fontsize=7, ncol=min(4, len(series)), loc="upper left")
        ax.set_ylim(0, max([*bottom, 1]) * 1.35)

    levels = {level: [week.levels[level] for week in report.weeks] for level in report.levels()}
    stacked(axes[0][0], levels, LEVEL_COLOURS, "Escalations per week, by level")
    languages = {language: [week.languages[language] for week in report.weeks] for language in report.languages()}
    stacked(axes[0][1], languages, {}, "Escalations per week, by language")

    ax = axes[1][0]
    medians = [median(week.claim_minutes) for week in report.weeks]
    worst = [max(week.claim_minutes) if week.claim_minutes else None for week in report.weeks]
    ax.plot(positions, [m if m is not None else float("nan") for m in medians], "o-", label="median", color="#2980b9")
    ax.plot(positions, [w if w is not None else float("nan") for w in worst], "s--", label="worst", color="#c0392b")
    # A log scale: the worst wait of a night can be hours while the median stays at minutes.
    ax.set_yscale("log")
    ax.set_ylim(0.5, max([60.0, *(w for w in worst if w is not None)]) * 2)
    ax.set_yticks([1, 5, 15, 60, 240, 1440])
    ax.set_yticklabels(["1 min", "5 min", "15 min", "1 h", "4 h", "24 h"])
    ax.set_title("Alert to claim", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")

    ax = axes[1][1]
    width = 0.4
    ax.bar(
        [p - width / 2 for p in positions],
        [w.reminders for w in report.weeks],
        width,
        label="reminders",
        color="#f39c12",
    )
    ax.bar(
        [p + width / 2 for p in positions], [w.expired for w in report.weeks], width, label="expired", color="#7f8c8d"
    )
    ax.set_title("Reminders and expiries (unclaimed alerts)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")

    ax = axes[2][0]
    shares = [100 * w.outside_hours / w.escalations if w.escalations else 0 for w in report.weeks]
    ax.bar(positions, shares, color="#34495e")
    ax.set_ylim(0, 100)
    ax.set_title(f"Outside coordinator hours ({report.hours or 'always on duty'}), % of escalations", fontsize=10)

    booked = {status: [w.bookings[status] for w in report.weeks] for status in BOOKING_STATUSES}
    stacked(axes[2][1], booked, BOOKING_COLOURS, "Booking requests per week, by outcome")

    for row in axes:
        for ax in row:
            ax.set_xticks(positions)
            ax.set_xticklabels(labels, fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def html_page(report: ProgrammeReport, png: bytes) -> str:
    """A self-contained page: the picture, then every figure in it as a table."""
    languages, levels = report.languages(), report.levels()
    head = ["week", "escalations", *levels, *languages, "claimed", "median to claim", "worst to claim"]
    head += ["reminders", "expired", "outside hours", *(f"bookings {status}" for status in BOOKING_STATUSES)]
    rows = []
    for week in report.weeks:
        cells = [week.label, week.escalations, *(week.levels[level] for level in levels)]
        cells += [*(week.languages[language] for language in languages), len(week.claim_minutes)]
        cells += [minutes_text(median(week.claim_minutes)), minutes_text(max(week.claim_minutes, default=None))]
        cells += [week.reminders, week.expired, week.outside_hours, *(week.bookings[s] for s in BOOKING_STATUSES)]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in cells) + "</tr>")
    image = base64.b64encode(png).decode()
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Escalations and bookings, {html.escape(report.period)}</title>",
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#eee}"
            "img{max-width:100%}</style></head><body>",
            f"<h1>Escalations and bookings, {html.escape(report.period)}</h1>",
            "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in headline(report)) + "</ul>",
            f'<img alt="The same figures as the table below, as charts" src="data:image/png;base64,{image}">',
            "<table><tr>" + "".join(f"<th>{html.escape(name)}</th>" for name in head) + "</tr>",
            *rows,
            "</table>",
            f"<p>Made {report.made_at.astimezone(TIMEZONE):%Y-%m-%d %H:%M} (Dutch time) from the escalation log "
            "and the booking requests: counts and times only. Closed escalations are deleted after the "
            "retention period, so older weeks may show fewer.</p>",
            "</body></html>",
        ]
    )
