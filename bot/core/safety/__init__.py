"""The safety screen: every message is checked for suicide risk and severe distress before
anything else, in every supported language at once, without Rasa."""

from bot.core.safety.screen import Assessment, Level, SafetyScreen

__all__ = ["Assessment", "Level", "SafetyScreen"]
