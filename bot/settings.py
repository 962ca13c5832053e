"""Configuration from the environment. A bad value stops start-up with a message naming it."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot import PROJECT_ROOT
from bot.core.office_hours import OfficeHours, WeeklySchedule


class SettingError(ValueError):
    """A setting is missing or malformed."""


def _positive(env: Mapping[str, str], name: str, default: float, what: str) -> float:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise SettingError(f"{name} must be a positive number of {what}, not {raw!r}")
    return value


def retention_days(env: Mapping[str, str]) -> int:
    """RETENTION_DAYS, validated (the NLG, inside Rasa, names it in the privacy text)."""
    return int(_positive(env, "RETENTION_DAYS", DEFAULT_RETENTION_DAYS, "days"))


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingError(f"{name} must be a port number between 1 and 65535, not {raw!r}")
    return int(raw)


DEFAULT_RETENTION_DAYS = 30

_TELEGRAM_TOKEN = re.compile(r"^\d+:[\w-]{5,}$")


@dataclass(frozen=True)
class Settings:
    telegram_token: str
    telegram_api_url: str
    webhook_url: str
    webhook_secret: str
    webhook_listen: str
    webhook_port: int
    coordinator_chat_id: int | None
    coordinator_user_ids: frozenset[int]
    rasa_url: str
    rasa_auth_token: str
    redis_url: str  # replicas share updates, chat turns and Rasa's lock store there; "" for one process
    start_servers: bool
    rasa_port: int
    action_port: int
    model_path: Path
    run_dir: Path
    pseudonym_secret: str
    rasa_log_level: str
    database_url: str
    retention_days: int
    escalation_retention_days: int
    escalation_remind_after: float  # seconds
    coordinator_hours: OfficeHours
    report_weekly: WeeklySchedule  # when the bot posts the programme's picture in the group by itself
    messages_per_minute: float  # one person's messages that reach Rasa (after a burst of 10)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, require_model: bool = True) -> Settings:
        env = os.environ if env is None else env
        rasa_port = _port(env, "RASA_PORT", 5005)
        action_port = _port(env, "ACTION_PORT", 5055)
        if rasa_port == action_port:
            raise SettingError("RASA_PORT and ACTION_PORT must differ")
        external = env.get("RASA_URL", "").strip()
        if external and not external.startswith(("http://", "https://")):
            raise SettingError(f"RASA_URL must start with http:// or https://, not {external!r}")
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if token and not _TELEGRAM_TOKEN.match(token):
            raise SettingError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters)")
        api_url = env.get("TELEGRAM_API_URL", "https://api.telegram.org").strip().rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise SettingError(f"TELEGRAM_API_URL must start with http:// or https://, not {api_url!r}")
        webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip()
        webhook_secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
        if webhook_url:
            if not webhook_url.startswith("https://") and not webhook_url.startswith("http://127.0.0.1"):
                raise SettingError("TELEGRAM_WEBHOOK_URL must start with https:// (Telegram only calls https)")
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", webhook_secret):
                raise SettingError(
                    "TELEGRAM_WEBHOOK_SECRET must be 16 to 256 letters, digits, _ or - when a webhook is used"
                )
        redis_url = env.get("REDIS_URL", "").strip()
        if redis_url and not redis_url.startswith(("redis://", "rediss://")):
            raise SettingError("REDIS_URL must start with redis:// or rediss://, e.g. redis://127.0.0.1:6379/0")
        chat_raw = env.get("COORDINATOR_CHAT_ID", "").strip()
        if chat_raw and not re.fullmatch(r"-?\d+", chat_raw):
            raise SettingError(
                f"COORDINATOR_CHAT_ID must be a Telegram chat id (a number such as -1001234), not {chat_raw!r}"
            )
        ids_raw = [part.strip() for part in env.get("COORDINATOR_USER_IDS", "").split(",") if part.strip()]
        if not all(part.isdigit() for part in ids_raw):
            raise SettingError("COORDINATOR_USER_IDS must be Telegram user ids separated by commas, e.g. 1234,5678")
        run_dir = Path(env.get("RUN_DIR") or PROJECT_ROOT / ".run")
        database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{run_dir / 'bot.db'}"
        if not database_url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://")):
            raise SettingError(
                "DATABASE_URL must be sqlite:///path/to/file.db or postgresql://user:password@host:port/database"
            )
        try:
            hours = OfficeHours.parse(env.get("COORDINATOR_HOURS", ""))
        except ValueError as error:
            raise SettingError(f"COORDINATOR_HOURS: {error}") from None
        try:
            weekly = WeeklySchedule.parse(env.get("REPORT_WEEKLY", ""))
        except ValueError as error:
            raise SettingError(f"REPORT_WEEKLY: {error}") from None
        model = Path(env.get("MODEL_PATH") or PROJECT_ROOT / "models" / "current.tar.gz")
        if require_model and not external and not model.exists():
            raise SettingError(f"MODEL_PATH: no trained model at {model}; run `make run` to train one")
        return cls(
            telegram_token=token,
            telegram_api_url=api_url,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
            webhook_port=_port(env, "TELEGRAM_WEBHOOK_PORT", 8443),
            coordinator_chat_id=int(chat_raw) if chat_raw else None,
            coordinator_user_ids=frozenset(int(part) for part in ids_raw),
            rasa_url=external or f"http://127.0.0.1:{rasa_port}",
            # Only this process and the Rasa server it starts know the token.
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or secrets.token_urlsafe(24),
            redis_url=redis_url,
            start_servers=not external,
            rasa_port=rasa_port,
            action_port=action_port,
            model_path=model,
            run_dir=run_dir,
            pseudonym_secret=pseudonym_secret(env, run_dir, production=bool(token)),
            rasa_log_level=_log_level(env, "RASA_LOG_LEVEL", "INFO"),
            database_url=database_url,
            retention_days=retention_days(env),
            escalation_retention_days=int(_positive(env, "ESCALATION_RETENTION_DAYS", 365, "days")),
            escalation_remind_after=_positive(env, "ESCALATION_REMIND_AFTER", 300, "seconds"),
            messages_per_minute=_positive(env, "MESSAGES_PER_MINUTE", 30, "messages"),
            coordinator_hours=hours,
            report_weekly=weekly,
        )


def _log_level(env: Mapping[str, str], name: str, default: str) -> str:
    level = env.get(name, "").strip().upper() or default
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingError(f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}")
    return level


def pseudonym_secret(env: Mapping[str, str], run_dir: Path, production: bool = False) -> str:
    """PSEUDONYM_SECRET. On Telegram (`production`) it must be set: a secret kept in RUN_DIR, next to
    the database, would let anyone holding a backup of both turn every key back into a Telegram id.
    The terminal chat makes one on first start and keeps it in RUN_DIR."""
    if env.get("PSEUDONYM_SECRET", "").strip():
        return env["PSEUDONYM_SECRET"].strip()
    if production:
        raise SettingError(
            "PSEUDONYM_SECRET must be set when the bot runs on Telegram. Make one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'` and keep it apart from the "
            "database and its backups: with both, anyone could turn the stored keys back into Telegram ids."
        )
    path = run_dir / "pseudonym.secret"
    if not path.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)  # private before the secret is in it
        path.write_text(secrets.token_hex(32), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()
