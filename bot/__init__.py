"""Telegram front end, safety screen and process supervisor of the peer-support assistant."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
