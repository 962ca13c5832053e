"""Starts the action server and the Rasa server, waits until they are ready, restarts a child
that dies, and stops both cleanly."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot import PROJECT_ROOT
from bot.rasa_plugins.tracker_store import write_endpoints
from bot.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: prctl(2) option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def die_with(parent_pid: int, signum: int = signal.SIGKILL) -> Callable[[], None]:
    """A preexec_fn: the child is sent `signum` when the process that started it dies, even by
    `kill -9`, so no server outlives the supervisor holding its port. Runs in the child between
    fork and exec; if the parent is already gone by then, the child ends at once. (Linux ties the
    signal to the thread that forked: start children from the event loop's thread, as we do.)"""

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child

    def set_death_signal() -> None:
        if prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            os.write(2, b"supervisor: prctl(PR_SET_PDEATHSIG) failed\n")
            os._exit(1)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signum)

    return set_death_signal


async def start_child(argv: list[str], **options: object) -> asyncio.subprocess.Process:
    """Starts a child in its own session (Ctrl-C in the terminal reaches only us; we stop the
    children) that dies with this process."""
    return await asyncio.create_subprocess_exec(
        *argv,
        start_new_session=True,
        preexec_fn=die_with(os.getpid()),
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    ready_url: str
    ready_timeout: float
    log_file: Path


class Child:
    def __init__(self, spec: ChildSpec, env: dict[str, str]) -> None:
        self.spec = spec
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_file.open("ab") as log_handle:
            self.process = await start_child(
                self.spec.argv,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_handle,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_ready(self, progress: Progress) -> None:
        started = time.monotonic()
        last_note = started
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if self.process is None or self.process.returncode is not None:
                    raise RuntimeError(f"The {self.spec.name} stopped while starting; see {self.spec.log_file}")
                try:
                    response = await http.get(self.spec.ready_url)
                    if response.status_code == 200:
                        progress(f"{self.spec.name} ready ({time.monotonic() - started:.0f} s)")
                        return
                except httpx.HTTPError:
                    pass
                elapsed = time.monotonic() - started
                if elapsed > self.spec.ready_timeout:
                    raise RuntimeError(
                        f"The {self.spec.name} was not ready after {elapsed:.0f} s; see {self.spec.log_file}"
                    )
                if time.monotonic() - last_note >= 10:
                    progress(f"still starting the {self.spec.name}... {elapsed:.0f} s")
                    last_note = time.monotonic()
                await asyncio.sleep(0.5)

    async def stop(self, grace: float = 10.0) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            await asyncio.wait_for(process.wait(), grace)
        except ProcessLookupError:
            return
        except asyncio.TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def child_specs(settings: Settings) -> list[ChildSpec]:
    python = sys.executable
    logs = settings.run_dir / "logs"
    return [
        ChildSpec(
            name="action server",
            argv=[python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.action_port)],
            ready_url=f"http://127.0.0.1:{settings.action_port}/health",
            ready_timeout=120,
            log_file=logs / "actions.log",
        ),
        ChildSpec(
            name="Rasa server",
            argv=[
                python,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                "--auth-token",
                settings.rasa_auth_token,
                "--interface",
                "127.0.0.1",
                "--port",
                str(settings.rasa_port),
                "--model",
                str(settings.model_path),
                "--endpoints",
                str(write_endpoints(settings.database_url, action_url(settings), settings.run_dir, settings.redis_url)),
                "--credentials",
                "credentials.yml",
            ],
            ready_url=f"http://127.0.0.1:{settings.rasa_port}/status?token={settings.rasa_auth_token}",
            ready_timeout=300,
            log_file=logs / "rasa.log",
        ),
    ]


def action_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.action_port}/webhook"


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        SANIC_HOST="127.0.0.1",  # the action server listens on loopback only
        ACTION_SERVER_URL=action_url(settings),
        DATABASE_URL=settings.database_url,  # the action server counts booking requests
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        # Rasa and the action server read LOG_LEVEL too; at DEBUG they log what people write, so
        # they have their own setting, and their libraries stay at ERROR.
        LOG_LEVEL=settings.rasa_log_level,
        LOG_LEVEL_LIBRARIES="ERROR",
    )
    return env


class Supervisor:
    def __init__(self, settings: Settings, progress: Progress) -> None:
        env = child_env(settings)
        self.children = [Child(spec, env) for spec in child_specs(settings)]
        self.progress = progress
        self._stopping = False
        self._watchers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.progress("Starting the action server and the Rasa server (loading the model takes about a minute)...")
        for child in self.children:
            await child.start()
        await asyncio.gather(*(child.wait_ready(self.progress) for child in self.children))
        self._watchers = [asyncio.create_task(self._watch(child)) for child in self.children]

    async def _watch(self, child: Child) -> None:
        """Restarts a server that stopped, with growing pauses, until the supervisor stops."""
        backoff = 1.0
        while not self._stopping:
            assert child.process is not None
            code = await child.process.wait()
            if self._stopping:
                return
            log.error("The %s stopped (exit code %s); restarting it in %.0f s", child.spec.name, code, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            try:
                await child.start()
                await child.wait_ready(self.progress)
                backoff = 1.0
            except RuntimeError as error:
                log.error("%s", error)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*(child.stop() for child in self.children), return_exceptions=True)
