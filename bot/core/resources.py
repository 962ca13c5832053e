"""Help lines and care routes per country, from content/resources/<country>.yml."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from bot import PROJECT_ROOT

REQUIRED = (
    "emergency_number",
    "crisis_line_name",
    "crisis_line_phone",
    "crisis_line_free_phone",
    "crisis_line_chat",
    "gp_azc_line_name",
    "gp_azc_line_phone",
)


def resources_file(country: str | None = None) -> Path:
    country = (country or os.environ.get("COUNTRY") or "nl").lower()
    return PROJECT_ROOT / "content" / "resources" / f"{country}.yml"


@lru_cache(maxsize=8)
def load_resources(path: Path | None = None) -> dict[str, str]:
    """The country's numbers as placeholders; a missing entry stops start-up with its name."""
    path = path or resources_file()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [key for key in REQUIRED if not data.get(key)]
    if missing:
        raise ValueError(f"{path}: please set {', '.join(missing)}")
    return {key: str(value) for key, value in data.items()}
