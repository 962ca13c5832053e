"""Benchmark: start-up time, and reply latency through bot → Rasa → reply beside a stock bot.

    make bench            (or: .venv/bin/python -m bench.latency [--messages 200])

1. Time from `make run` to "Ready" (everything already installed and trained).
2. p50/p95 latency of one message through the front end's Assistant → Rasa REST → NLG → action
   server, for 1 user and for 20 concurrent users.
3. The same traffic pattern against a stock `rasa init` bot's REST channel, in the same run.
Results are printed and written to bench/out/latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bot.conversation.assistant import Assistant
from bot.conversation.rasa_client import RasaClient
from bot.core.i18n import Catalogs
from bot.storage.users import MemoryUserStore

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

# A realistic mix: greetings, articles from the action server, booking, in all six languages.
OUR_MESSAGES = [
    ("en", "hello"), ("en", "I can't sleep at night"), ("nl", "ik heb veel stress"), ("ar", "ما بقدر نام"),
    ("fa", "امیدم رو از دست دادم"), ("uk", "хочу поговорити з волонтером"), ("es", "gracias"), ("en", "is it free?"),
]  # fmt: skip
STOCK_MESSAGES = ["hello", "I am sad", "great", "yes", "goodbye", "are you a bot?", "no", "I am feeling very good"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "messages": len(latencies),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "messages_per_s": round(len(latencies) / seconds, 1),
    }


def save(name: str, results: dict) -> dict:
    """Writes a benchmark's figures to bench/out/<name>.json and returns them."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=2))
    return results


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.update(extra)
    return env


def wait_for_line(process: subprocess.Popen, marker: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline().decode(errors="replace")
        if marker in line:
            return
        if not line and process.poll() is not None:
            raise RuntimeError(f"process ended before {marker!r}")
    raise TimeoutError(marker)


async def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(url)


async def drive(send, users: int, per_user: int) -> dict[str, float]:
    """Each user sends `per_user` messages one after another; users run concurrently."""
    latencies: list[float] = []

    async def one_user(index: int) -> None:
        for number in range(per_user):
            started = time.perf_counter()
            await send(index, number)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one_user(index) for index in range(users)))
    return summary(latencies, time.perf_counter() - started)


async def measure_ours(rasa_url: str, messages: int) -> dict[str, dict[str, float]]:
    client = RasaClient(rasa_url, timeout=60)
    store = MemoryUserStore()
    assistant = Assistant(client, store, Catalogs())
    run = uuid.uuid4().hex[:6]

    async def send(user: int, number: int) -> None:
        language, text = OUR_MESSAGES[(user + number) % len(OUR_MESSAGES)]
        key = f"bench-{run}-{user}"
        store.set_language(key, language)
        replies = await assistant.handle_text(key, text)
        assert replies and replies[0].text, "every message gets a reply"

    await drive(send, 1, 10)  # warm-up
    results = {"1_user": await drive(send, 1, messages), "20_users": await drive(send, 20, max(1, messages // 20))}
    await client.close()
    return results


async def measure_stock(url: str, messages: int) -> dict[str, dict[str, float]]:
    run = uuid.uuid4().hex[:6]
    # httpx, as our RasaClient: both sides pay the same for the HTTP client.
    async with httpx.AsyncClient(timeout=60) as http:

        async def send(user: int, number: int) -> None:
            body = {"sender": f"stock-{run}-{user}", "message": STOCK_MESSAGES[(user + number) % len(STOCK_MESSAGES)]}
            response = await http.post(f"{url}/webhooks/rest/webhook", json=body)
            response.raise_for_status()

        await drive(send, 1, 10)
        return {"1_user": await drive(send, 1, messages), "20_users": await drive(send, 20, max(1, messages // 20))}


def start_stock_bot(workdir: Path, port: int) -> subprocess.Popen:
    rasa = [sys.executable, "-m", "rasa"]
    subprocess.run([*rasa, "init", "--no-prompt", "--init-dir", str(workdir)], cwd=workdir, env=env_with(), check=True,
                   capture_output=True, timeout=1800)  # fmt: skip
    return subprocess.Popen(
        [*rasa, "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(port), "--model", "models"],
        cwd=workdir, env=env_with(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


async def main(messages: int) -> dict:
    from tests.helpers import free_port

    rasa_port, action_port, stock_port = free_port(), free_port(), free_port()
    env = env_with(RASA_PORT=str(rasa_port), ACTION_PORT=str(action_port), RASA_AUTH_TOKEN="bench", LOG_LEVEL="WARNING")
    results: dict = {"machine": {"cores": os.cpu_count()}}

    started = time.monotonic()
    ours = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        wait_for_line(ours, "Ready after", 600)
        results["make_run_to_ready_s"] = round(time.monotonic() - started, 1)
        print(f"make run → ready: {results['make_run_to_ready_s']} s", flush=True)
        results["ours"] = await measure_ours(f"http://127.0.0.1:{rasa_port}", messages)
        print("ours:", json.dumps(results["ours"]), flush=True)
    finally:
        os.killpg(ours.pid, signal.SIGINT)
        ours.wait(60)

    with tempfile.TemporaryDirectory() as tmp:
        print("training a stock `rasa init` bot for comparison...", flush=True)
        stock = start_stock_bot(Path(tmp), stock_port)
        try:
            await wait_http(f"http://127.0.0.1:{stock_port}/status", 600)
            results["stock_rasa_init"] = await measure_stock(f"http://127.0.0.1:{stock_port}", messages)
            print("stock:", json.dumps(results["stock_rasa_init"]), flush=True)
        finally:
            os.killpg(stock.pid, signal.SIGTERM)
            stock.wait(60)

    for load in ("1_user", "20_users"):
        ratio = results["ours"][load]["p50_ms"] / results["stock_rasa_init"][load]["p50_ms"]
        results[f"p50_ratio_{load}"] = round(ratio, 2)
    return save("latency", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="messages per load level (default 200)")
    print(json.dumps(asyncio.run(main(parser.parse_args().messages)), indent=2))
