"""Two of everything on loopback, as in docs/scale-out.md: PostgreSQL, Redis, two action servers,
two Rasa servers (one tracker store, Rasa's RedisLockStore), two bot replicas in webhook mode, and
nginx in front of each pair. For tests/end_to_end/test_replicas.py and bench/replicas.py.

Servers come from the operating system's packages (scripts/ensure-servers installs them); every
one runs from a temporary folder with its own ports and is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.rasa_plugins.tracker_store import write_endpoints
from tests.helpers import ROOT, TOKEN, StreamCollector, base_env, free_port, wait_until_healthy
from tests.postgres import ThrowawayPostgres
from tests.telegram_standin import TelegramStandIn

RASA_TOKEN = "replicas-token"
WEBHOOK_SECRET = "replicas-webhook-secret"
PSEUDONYM_SECRET = "replicas-secret"
#: A dead Rasa server's conversation lock lapses after this (Rasa's TICKET_LOCK_LIFETIME, 60 s by
#: default): the other server then takes the conversation over.
RASA_LOCK_SECONDS = "15"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed; run scripts/ensure-servers (make test does)")
    return found


class ThrowawayRedis:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run scripts/ensure-servers (make test does)")
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.process.kill()
        raise TimeoutError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@dataclass
class Pool:
    """A load balancer's port and the ports of the servers behind it."""

    port: int
    backends: list[int]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


NGINX_POOL = """
  upstream {name} {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://{name};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      # A server that dies with the request in hand: the other one gets it (also a POST).
      proxy_next_upstream error timeout http_502 non_idempotent;
      proxy_connect_timeout 2s;
      proxy_read_timeout 90s;
      client_body_buffer_size 1m;
    }}
  }}
"""


def nginx_config(folder: Path, pools: dict[str, Pool]) -> str:
    blocks = []
    for name, pool in pools.items():
        servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in pool.backends)
        blocks.append(NGINX_POOL.format(name=name, servers=servers, port=pool.port))
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        "daemon off;\nevents { worker_connections 4096; }\n"
        f"http {{\n  access_log off;\n  {temp}\n{''.join(blocks)}}}\n"
    )


@dataclass
class Replicas:
    """What `start_replicas` started; `bots`, `rasa` and `actions` in the order of their pools."""

    standin: TelegramStandIn
    folder: Path
    postgres: ThrowawayPostgres
    redis: ThrowawayRedis
    database_url: str
    pools: dict[str, Pool]
    nginx: subprocess.Popen | None = None
    actions: list[subprocess.Popen] = field(default_factory=list)
    rasa: list[subprocess.Popen] = field(default_factory=list)
    bots: list[subprocess.Popen] = field(default_factory=list)

    @property
    def webhook_url(self) -> str:
        return f"{self.pools['bots'].url}/telegram"

    def kill(self, process: subprocess.Popen) -> None:
        """As a crash: SIGKILL, no chance to finish anything."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in [*self.bots, *self.rasa, *self.actions, *([self.nginx] if self.nginx else [])]:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(process.pid, signal.SIGKILL)
        self.redis.stop()
        self.postgres.stop()
        # The servers' logs stay for a look after a failure (only the last run's).
        kept = Path(tempfile.gettempdir()) / "replicas-last-logs"
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir()
        for log in self.folder.glob("*.log"):
            shutil.copy(log, kept / log.name)
        for index, bot in enumerate(self.bots):
            (kept / f"bot-{index}.log").write_text(bot.log.buffer, encoding="utf-8")
        shutil.rmtree(self.folder, ignore_errors=True)


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def start_replicas(standin: TelegramStandIn, count: int = 2, **bot_settings: str) -> Replicas:
    """`count` of each server behind nginx, all ready; the bots registered their webhook."""
    folder = Path(tempfile.mkdtemp(prefix="replicas-"))
    postgres = ThrowawayPostgres()
    database_url = postgres.start()
    redis = ThrowawayRedis(folder)
    pools = {name: Pool(free_port(), [free_port() for _ in range(count)]) for name in ("bots", "rasa", "actions")}
    replicas = Replicas(standin, folder, postgres, redis, database_url, pools)
    try:
        # The schema once, before anyone uses it (replicas of a real deployment do this in their release step).
        subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=base_env(DATABASE_URL=database_url),
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        server_env = base_env(
            DATABASE_URL=database_url,
            TICKET_LOCK_LIFETIME=RASA_LOCK_SECONDS,
            LOG_LEVEL=os.environ.get("REPLICAS_RASA_LOG", "WARNING"),
        )
        config = folder / "nginx.conf"
        config.write_text(nginx_config(folder, pools), encoding="utf-8")
        nginx = [nginx_binary(), "-c", str(config), "-p", str(folder)]
        replicas.nginx = _spawn(nginx, base_env(), folder / "nginx.log")
        for index, port in enumerate(pools["actions"].backends):
            argv = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
            replicas.actions.append(_spawn(argv, server_env, folder / f"actions-{index}.log"))
        endpoints = write_endpoints(database_url, f"{pools['actions'].url}/webhook", folder / "rasa", redis.url)
        # Rasa's tracker table once too: two servers creating it at the same moment can collide.
        make_table = (
            "from rasa.core.tracker_store import TrackerStore; from rasa.utils.endpoints import read_endpoint_config; "
            f"TrackerStore.create(read_endpoint_config({str(endpoints)!r}, 'tracker_store'))"
        )
        subprocess.run([sys.executable, "-c", make_table], cwd=ROOT, env=server_env, check=True, capture_output=True,
                       timeout=180)  # fmt: skip
        for index, port in enumerate(pools["rasa"].backends):
            argv = [sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", RASA_TOKEN,
                    "--interface", "127.0.0.1", "--port", str(port), "--model", "models/current.tar.gz",
                    "--endpoints", str(endpoints), "--credentials", "credentials.yml"]  # fmt: skip
            replicas.rasa.append(_spawn(argv, server_env, folder / f"rasa-{index}.log"))
        for port in pools["bots"].backends:
            env = base_env(
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=standin.url,
                TELEGRAM_WEBHOOK_URL=replicas.webhook_url,
                TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                TELEGRAM_WEBHOOK_PORT=str(port),
                RASA_URL=pools["rasa"].url,
                RASA_AUTH_TOKEN=RASA_TOKEN,
                DATABASE_URL=database_url,
                REDIS_URL=redis.url,
                PSEUDONYM_SECRET=PSEUDONYM_SECRET,
                LOG_LEVEL="INFO",
                **bot_settings,
            )
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            bot.log = StreamCollector(bot.stderr)
            replicas.bots.append(bot)
        for port in pools["actions"].backends:
            wait_until_healthy(f"http://127.0.0.1:{port}/health", timeout=120)
        for port in pools["rasa"].backends:
            wait_until_healthy(f"http://127.0.0.1:{port}/status?token={RASA_TOKEN}", timeout=400)
        for bot in replicas.bots:
            bot.log.wait_for("Answering on Telegram", 0, timeout=300)
    except BaseException:
        replicas.stop()
        raise
    return replicas


#: What people write, one script per kind of chat, step by step (a crisis in one of them).
SCRIPTS: dict[str, list[str]] = {
    "en": ["hello", "I can't sleep at night", "thank you"],
    "nl": ["hallo", "ik kan niet slapen door de stress", "dank je wel"],
    "ar": ["مرحبا", "لا أستطيع النوم في الليل", "شكرا"],
    "crisis": ["hello", "I want to end my life", "thank you"],
}


def script_of(chat_id: int) -> str:
    return list(SCRIPTS)[chat_id % len(SCRIPTS)]


def quiet_replies(standin: TelegramStandIn, chat_id: int, before: int, quiet: float = 1.5, timeout: float = 60) -> None:
    """Waits for a first reply after `before` messages, then until none comes for `quiet` seconds."""
    standin.wait_for(lambda: len(standin.texts_to(chat_id)) > before, timeout)
    seen, since = len(standin.texts_to(chat_id)), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        if len(standin.texts_to(chat_id)) != seen:
            seen, since = len(standin.texts_to(chat_id)), time.monotonic()


def reference_replies(standin: TelegramStandIn, first_chat: int) -> dict[str, list[list[str]]]:
    """Each script once, on a quiet system: the texts each step gets (what every chat should get)."""
    reference: dict[str, list[list[str]]] = {}
    for offset, (name, steps) in enumerate(SCRIPTS.items()):
        chat = first_chat + offset
        per_step = []
        for text in steps:
            before = len(standin.texts_to(chat))
            standin.send_text(chat, text)
            quiet_replies(standin, chat, before)
            per_step.append(standin.texts_to(chat)[before:])
        reference[name] = per_step
    return reference
