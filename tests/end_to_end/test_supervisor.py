"""The servers die with the supervisor: after `kill -9` of the process that started them, no child
keeps running (and holding its port). A stand-in child is used, not Rasa."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, base_env

#: A parent that starts one stand-in server the supervisor's way, prints its pid and waits.
PARENT = """
import asyncio, os, sys
from pathlib import Path
from bot.supervisor import Child, ChildSpec

async def main():
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    if sys.argv[2] == "supervisor":
        child = Child(ChildSpec("stand-in", argv, "http://127.0.0.1:9/", 1, Path(sys.argv[1])), dict(os.environ))
        await child.start()
        process = child.process
    else:  # as before: its own session, and nothing more
        process = await asyncio.create_subprocess_exec(*argv, start_new_session=True)
    print(process.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] not in ("Z", "X")


def kill_parent_and_watch_child(tmp_path: Path, how: str) -> tuple[int, bool]:
    """Starts the parent, SIGKILLs it once its child runs; returns the child's pid and whether it
    was gone within five seconds."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "child.log"), how],
        cwd=ROOT,
        env=base_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        assert os.getpgid(child) == child, "the child keeps its own process group (Ctrl-C reaches only the bot)"
    finally:
        parent.kill()  # SIGKILL: no clean-up code runs in the parent
        parent.wait(10)
        parent.stdout.close()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, not alive(child)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_child_started_by_the_supervisor_dies_when_the_supervisor_is_killed(tmp_path: Path):
    child, gone = kill_parent_and_watch_child(tmp_path, "supervisor")
    if not gone:
        os.kill(child, signal.SIGKILL)
    assert gone, "the stand-in server outlived its supervisor"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_without_the_death_signal_the_child_would_outlive_it(tmp_path: Path):
    """The check above can fail: a child in its own session alone survives its parent's SIGKILL."""
    child, gone = kill_parent_and_watch_child(tmp_path, "plain")
    if not gone:
        os.kill(child, signal.SIGKILL)
    assert not gone
