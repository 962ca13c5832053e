"""The programme's picture of the last weeks (python -m bot escalations report, /report in the
coordinators' group, and the weekly post), on a real SQLite database filled with weeks of
generated escalations and booking requests. Every figure is worked out again here from what the
generator wrote, and the page must carry no pseudonymous key."""

from __future__ import annotations

import asyncio
import statistics
import struct
from datetime import datetime, timedelta, timezone

import pytest

from bot.__main__ import main
from bot.coordinators import picture
from bot.coordinators.handoff import Coordinator, CoordinatorGroup, HandOff
from bot.coordinators.texts import ONLY_COORDINATORS
from bot.core.i18n import default_catalogs
from bot.core.office_hours import TIMEZONE, OfficeHours, WeeklySchedule
from bot.settings import SettingError, Settings
from bot.storage.db import Database
from tests.escalation_history import History, fill
from tests.fast.conftest import FakeMessenger, Parts

#: A Tuesday afternoon, Dutch time.
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
HOURS = OfficeHours.parse("09:00-21:00")
SARA, STRANGER = Coordinator(11, "Sara"), Coordinator(99, "Max")


@pytest.fixture
def history(database: Database) -> History:
    return fill(database, NOW, weeks=9)


def in_report(history: History, weeks: int) -> list:
    first = picture.week_start(NOW) - timedelta(weeks=weeks - 1)
    return [e for e in history.escalations if picture.week_start(e.created_at) >= first]


def test_the_figures_are_the_ones_in_the_log(database: Database, history: History) -> None:
    report = picture.gather(database, 8, HOURS, now=NOW)
    expected = in_report(history, 8)
    assert len(report.weeks) == 8 and report.weeks[-1].start == datetime(2026, 11, 23).date()
    assert report.escalations == len(expected) > 60
    for level in picture.LEVELS:
        assert sum(week.levels[level] for week in report.weeks) == sum(e.level == level for e in expected)
    assert sum(week.languages["ar"] for week in report.weeks) == sum(e.language == "ar" for e in expected)
    claims = [e.claim_minutes for e in expected if e.claim_minutes is not None]
    assert sorted(report.claim_minutes) == pytest.approx(sorted(claims), abs=0.01)
    assert sum(w.reminders for w in report.weeks) == sum(e.reminders for e in expected)
    assert sum(w.expired for w in report.weeks) == sum(e.status == "expired" for e in expected) > 0
    outside = sum(not 9 <= e.created_at.astimezone(TIMEZONE).hour < 21 for e in expected)
    assert sum(w.outside_hours for w in report.weeks) == outside > 0
    first = report.weeks[0].start
    booked = [status for at, status in history.bookings if picture.week_start(at) >= first]
    assert sum(sum(w.bookings.values()) for w in report.weeks) == len(booked)
    lines = picture.headline(report)
    assert f"median {picture.minutes_text(statistics.median(claims))}" in lines[0]
    assert f"{outside / len(expected):.0%} outside coordinator hours (09:00–21:00)" in lines[1]


def test_the_picture_is_one_png_page_and_the_html_page_has_the_same_figures_and_no_keys(
    database: Database, history: History
) -> None:
    report = picture.gather(database, 8, HOURS, now=NOW)
    png = picture.draw(report)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1170, 830)  # A4 landscape at 100 dpi
    page = picture.html_page(report, png)
    assert page.count("<tr>") == 1 + 8 and "data:image/png;base64," in page
    for line in picture.headline(report):
        assert line.replace("'", "&#x27;") in page
    assert "person-" not in page and "generated" not in page  # keys and categories stay in the log


def test_an_empty_log_draws_an_empty_picture_rather_than_failing(database: Database) -> None:
    report = picture.gather(database, 4, HOURS, now=NOW)
    assert report.escalations == 0
    assert picture.draw(report)[:4] == b"\x89PNG"
    assert "0 escalations, 0 claimed; alert to claim: median –" in picture.headline(report)[0]


def test_the_command_line_writes_the_png_and_the_html_page(
    database: Database, history: History, tmp_path, monkeypatch, capsys
) -> None:
    url = str(database.engine.url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RUN_DIR", str(tmp_path))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["escalations", "report", "--weeks", "6", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "escalations-report.png").read_bytes()[:4] == b"\x89PNG"
    assert "<table>" in (tmp_path / "out" / "escalations-report.html").read_text()
    assert "escalations" in capsys.readouterr().out
    assert main(["escalations", "report", "--weeks", "0", "--out", str(tmp_path)]) == 2
    assert "--weeks takes a number from 1 to 104" in capsys.readouterr().err


def make_handoff(parts: Parts, messenger: FakeMessenger, weekly: str = "") -> HandOff:
    group = CoordinatorGroup(chat_id=-100, user_ids=frozenset({SARA.user_id}))
    return HandOff(
        messenger, parts.assistant, parts.escalations, parts.bookings, default_catalogs(), group, "secret",
        timedelta(minutes=10), HOURS, WeeklySchedule.parse(weekly),
    )  # fmt: skip


def test_report_in_the_group_posts_the_picture_for_coordinators_only(parts: Parts, history: History) -> None:
    messenger = FakeMessenger()
    handoff = make_handoff(parts, messenger)
    asyncio.run(handoff.on_command("/report", ["4"], SARA))
    [(png, caption)] = messenger.pictures
    assert png[:4] == b"\x89PNG" and caption.startswith("📊 ") and "escalations" in caption
    asyncio.run(handoff.on_command("/report", [], STRANGER))
    assert len(messenger.pictures) == 1
    assert messenger.posts[-1].text == ONLY_COORDINATORS


def test_a_picture_telegram_refuses_is_explained_in_the_group(parts: Parts) -> None:
    messenger = FakeMessenger(refuse_pictures=True)
    asyncio.run(make_handoff(parts, messenger).on_command("/report", [], SARA))
    assert messenger.pictures == []
    assert messenger.posts[-1].text == "The picture could not be posted; please try /report again in a minute."


def test_the_weekly_picture_is_posted_once_per_week_even_across_a_restart(parts: Parts, history: History) -> None:
    monday_nine = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # 09:00 in Amsterdam
    messenger = FakeMessenger()
    handoff = make_handoff(parts, messenger, "mon 09:00")
    asyncio.run(handoff.post_weekly_report(monday_nine - timedelta(minutes=1)))
    assert messenger.pictures == []  # not yet due: last week's moment is more than a day ago
    asyncio.run(handoff.post_weekly_report(monday_nine + timedelta(minutes=1)))
    asyncio.run(handoff.post_weekly_report(monday_nine + timedelta(minutes=2)))
    assert len(messenger.pictures) == 1
    restarted = make_handoff(parts, messenger, "mon 09:00")
    asyncio.run(restarted.post_weekly_report(monday_nine + timedelta(hours=3)))
    assert len(messenger.pictures) == 1
    asyncio.run(restarted.post_weekly_report(monday_nine + timedelta(days=2)))  # Wednesday: nothing due
    assert len(messenger.pictures) == 1
    asyncio.run(restarted.post_weekly_report(monday_nine + timedelta(weeks=1, minutes=1)))
    assert len(messenger.pictures) == 2


def test_a_weekly_picture_telegram_refuses_is_tried_again_ten_minutes_later_not_on_every_tick(
    parts: Parts, history: History
) -> None:
    monday_nine = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    messenger = FakeMessenger(refuse_pictures=True)
    handoff = make_handoff(parts, messenger, "mon 09:00")
    asyncio.run(handoff.post_weekly_report(monday_nine + timedelta(minutes=1)))
    messenger.refuse_pictures = False
    asyncio.run(handoff.post_weekly_report(monday_nine + timedelta(minutes=2)))
    assert messenger.pictures == []  # the next tick does not draw it again
    asyncio.run(handoff.post_weekly_report(monday_nine + timedelta(minutes=12)))
    assert len(messenger.pictures) == 1


def test_no_weekly_picture_unless_it_is_configured(parts: Parts) -> None:
    messenger = FakeMessenger()
    asyncio.run(make_handoff(parts, messenger).post_weekly_report(datetime(2026, 11, 23, 8, 1, tzinfo=timezone.utc)))
    assert messenger.pictures == []


@pytest.mark.parametrize("text", ["monday 9:00", "thu 17:30", "SUN 00:00"])
def test_report_weekly_takes_a_day_and_a_time(text: str) -> None:
    assert WeeklySchedule.parse(text).enabled


@pytest.mark.parametrize("text", ["every monday", "mon 25:00", "xyz 09:00", "09:00"])
def test_a_wrong_report_weekly_setting_says_what_is_expected(text: str, tmp_path) -> None:
    with pytest.raises(SettingError, match="REPORT_WEEKLY: expected a day and a time such as 'mon 09:00'"):
        Settings.from_env({"REPORT_WEEKLY": text, "RUN_DIR": str(tmp_path)}, require_model=False)
