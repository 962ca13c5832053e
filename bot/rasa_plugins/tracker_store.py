"""Rasa keeps its conversations (trackers) in our database, so a restart loses nothing.

Rasa's SQL tracker store writes one row per event to the `events` table (storage.models.EVENTS_TABLE);
retention and erasure (bot/storage/privacy.py) delete from it directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot import PROJECT_ROOT


def tracker_store_config(database_url: str) -> dict[str, Any]:
    """Rasa's `tracker_store` section for a SQLAlchemy URL (Rasa takes the parts separately)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return {"type": "SQL", "dialect": "sqlite", "db": url.database}
    config: dict[str, Any] = {"type": "SQL", "dialect": url.drivername, "db": url.database}
    for key, value in (("url", url.host), ("port", url.port), ("username", url.username), ("password", url.password)):
        if value is not None:
            config[key] = value
    return config


#: Rasa's RedisLockStore, with tickets renewed while their server lives (lock_store.py).
LOCK_STORE = "bot.rasa_plugins.lock_store.RenewingRedisLockStore"


def lock_store_config(redis_url: str) -> dict[str, Any]:
    """Rasa's `lock_store` section for a redis:// URL: Rasa servers that share the tracker store
    share their conversation locks too, so no conversation is handled by two servers at once."""
    url = make_url(redis_url.replace("rediss://", "redis://", 1))
    config: dict[str, Any] = {"type": LOCK_STORE, "url": url.host or "127.0.0.1", "port": url.port or 6379}
    config["db"] = int(url.database) if url.database else 0
    if url.password:
        config["password"] = url.password
    if redis_url.startswith("rediss://"):
        config["use_ssl"] = True
    config["key_prefix"] = "rasa"
    return config


def write_endpoints(database_url: str, action_url: str, run_dir: Path, redis_url: str = "") -> Path:
    """The project's endpoints.yml with the action server's address, the tracker store and, for
    replicas, the lock store filled in, written where only this user can read it (it may hold the
    database password)."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = action_url
    endpoints["tracker_store"] = tracker_store_config(database_url)
    if redis_url:
        endpoints["lock_store"] = lock_store_config(redis_url)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "endpoints.yml"
    path.touch(mode=0o600)
    path.chmod(0o600)  # also when an older copy was readable by others
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path
