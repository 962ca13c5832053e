"""When coordinators are on duty (COORDINATOR_HOURS, e.g. "09:00-21:00", Dutch time; empty means always),
and when the bot posts the programme's weekly picture (REPORT_WEEKLY, e.g. "mon 09:00")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Europe/Amsterdam")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class OfficeHours:
    start: time | None = None
    end: time | None = None

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """ "" → always on duty; "09:00-21:00" → every day in that window (it may pass midnight)."""
        text = text.strip()
        if not text:
            return cls()
        match = _RANGE.match(text)
        if not match:
            raise ValueError(f"expected HH:MM-HH:MM, such as 09:00-21:00, not {text!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
            raise ValueError(f"{text!r} is not a time range")
        return cls(time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2))

    def on_duty(self, moment: datetime | None = None) -> bool:
        if self.start is None or self.end is None:
            return True
        local = (moment or datetime.now(timezone.utc)).astimezone(TIMEZONE).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def describe(self) -> str:
        if self.start is None or self.end is None:
            return ""
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class WeeklySchedule:
    """REPORT_WEEKLY: "mon 09:00" (Dutch time) posts the picture in the group every Monday at nine;
    empty: never by itself."""

    weekday: int | None = None
    at: time = time(9, 0)

    DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    @classmethod
    def parse(cls, text: str) -> WeeklySchedule:
        text = text.strip().lower()
        if not text or text in ("off", "no", "false", "0"):
            return cls()
        match = re.fullmatch(r"([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})", text)
        if not match or match.group(1) not in cls.DAYS or int(match.group(2)) > 23 or int(match.group(3)) > 59:
            raise ValueError(f"expected a day and a time such as 'mon 09:00', or nothing for off, not {text!r}")
        return cls(cls.DAYS.index(match.group(1)), time(int(match.group(2)), int(match.group(3))))

    @property
    def enabled(self) -> bool:
        return self.weekday is not None

    def last_due(self, now: datetime) -> datetime | None:
        """The latest scheduled moment at or before `now`."""
        if self.weekday is None:
            return None
        local = now.astimezone(TIMEZONE)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        due = datetime.combine(day, self.at, TIMEZONE)
        return due if due <= local else due - timedelta(weeks=1)
