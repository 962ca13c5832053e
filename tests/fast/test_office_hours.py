"""Coordinators' hours (COORDINATOR_HOURS): outside them, people are told so honestly at once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.conversation.assistant import Assistant
from bot.conversation.rasa_client import RasaClient
from bot.core.i18n import default_catalogs
from bot.core.office_hours import TIMEZONE, OfficeHours
from bot.settings import SettingError, Settings
from bot.storage.db import Database, migrate
from bot.storage.escalations import EscalationLog
from bot.storage.users import MemoryUserStore


@pytest.mark.parametrize(
    ("hours", "utc", "on_duty"),
    [
        ("09:00-21:00", "2026-11-23T08:30", True),  # 09:30 in Amsterdam (winter time)
        ("09:00-21:00", "2026-11-23T07:30", False),  # 08:30
        ("09:00-21:00", "2026-07-01T19:30", False),  # 21:30 in summer time
        ("22:00-06:00", "2026-11-23T23:30", True),  # past midnight
        ("", "2026-11-23T03:00", True),  # not set: always
    ],
)
def test_on_duty_follows_dutch_time(hours, utc, on_duty):
    moment = datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)
    assert OfficeHours.parse(hours).on_duty(moment) is on_duty


def test_a_malformed_range_stops_start_up_with_the_settings_name():
    with pytest.raises(SettingError, match="COORDINATOR_HOURS"):
        Settings.from_env({"COORDINATOR_HOURS": "nine to five"}, require_model=False)


def test_outside_the_hours_a_crisis_reply_says_when_coordinators_are_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    migrate(url)
    later = datetime.now(TIMEZONE) + timedelta(hours=2)  # a one-hour window that has not begun
    window = f"{later:%H}:00-{(later + timedelta(hours=1)):%H}:00"
    never = OfficeHours.parse(window)
    assistant = Assistant(
        RasaClient("http://127.0.0.1:9"),
        MemoryUserStore(),
        default_catalogs(),
        escalations=EscalationLog(Database(url)),
        hours=never,
    )
    alerted = []
    assistant.escalation_listeners.append(lambda view, created: alerted.append(view.level))

    async def scenario() -> None:
        replies = await assistant.handle_text("telegram-night", "I want to end my life")
        await assistant.records.settled()
        told = replies[1].text
        shown = window.replace("-", "–")
        assert f"not working right now (their working hours: {shown}, Dutch time)" in told and "day and night" in told
        assert alerted == ["acute"], "the escalation is still stored and sent to the group"
        [asked] = await assistant.request_human("telegram-night")
        assert f"not working right now (their working hours: {shown}, Dutch time)" in asked.text
        await assistant.rasa.close()

    asyncio.run(scenario())
