"""Facts about the organisation (names, links, contact), read from content/organisation.yml."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import PROJECT_ROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Organisation:
    name: str
    programme_name: str
    booking_url: dict[str, str]
    privacy_url: str
    contact_email: str
    address: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def booking_url_for(self, language: str) -> str:
        return self.booking_url.get(language) or self.booking_url["default"]

    def variables(self, language: str) -> dict[str, str]:
        """Placeholders that responses may use, e.g. {booking_url}."""
        return {
            "organisation_name": self.name,
            "programme_name": self.programme_name,
            "booking_url": self.booking_url_for(language),
            "privacy_url": self.privacy_url,
            "contact_email": self.contact_email,
        }


def organisation_file() -> Path:
    return Path(os.environ.get("ORGANISATION_FILE") or PROJECT_ROOT / "content" / "organisation.yml")


@lru_cache(maxsize=4)
def load_organisation(path: Path | None = None) -> Organisation:
    """Reads the organisation file; a missing key stops start-up with a message that names it."""
    path = path or organisation_file()
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    required = ["name", "programme_name", "booking_url", "privacy_url", "contact_email"]
    missing = [key for key in required if not data.get(key)]
    if missing:
        raise ValueError(f"{path}: please set {', '.join(missing)}")
    booking = data["booking_url"]
    if isinstance(booking, str):
        booking = {"default": booking}
    if "default" not in booking:
        raise ValueError(f"{path}: booking_url needs a 'default' entry")
    known = set(required) | {"address"}
    return Organisation(
        name=data["name"],
        programme_name=data["programme_name"],
        booking_url=dict(booking),
        privacy_url=data["privacy_url"],
        contact_email=data["contact_email"],
        address=data.get("address", ""),
        extra={key: value for key, value in data.items() if key not in known},
    )
