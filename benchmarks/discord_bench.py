"""Discord latency through the real discord.py code path (payload parser → CommandTree → REST).

Measures, per /ask, the time from handing discord.py the INTERACTION_CREATE to the local REST
server receiving (a) the deferral and (b) the followup with answer and Piper clip, for N concurrent
commands. Baseline from the same run: a trivial command that only defers (pure discord.py +
aiohttp cost), and a single /ask with nothing else in flight.

    .venv/bin/python benchmarks/discord_bench.py [--index sample|hf-course|corpus] [--concurrency 20]

Writes benchmarks/results/discord_bench.json. The corpus index (241 videos) is built once into a
temporary data dir when ../shared/corpus exists (embedding ~7,700 chunks takes minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

import discord  # noqa: E402
from discord import app_commands  # noqa: E402

import pipelines  # noqa: E402
from bot.answering.service import AnswerService  # noqa: E402
from bot.discord.app import CourseTABot  # noqa: E402
from bot.discord.context import CourseTA  # noqa: E402
from pipelines.freshness.ingest import Ingestor  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402
from tests.bot.discord.discord_payloads import command_interaction, guild_create, option  # noqa: E402
from tests.fakes.discord_rest import Call, DiscordAPI  # noqa: E402
from voice.render import VoiceRenderer  # noqa: E402

QUESTIONS = [
    "How does reciprocal rank fusion combine BM25 and dense retrieval?",
    "What is a triplet loss?",
    "How does Whisper handle long audio?",
    "Why fine-tune an embedding model?",
    "What is a tokenizer?",
    "How do I clone a voice?",
    "What does BM25 score?",
    "What is a hard negative?",
    "How are transcripts chunked?",
    "What is attention?",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_s": round(pct(values, 50), 4),
        "p95_s": round(pct(values, 95), 4),
        "p99_s": round(pct(values, 99), 4),
        "max_s": round(max(values), 4),
        "mean_s": round(statistics.mean(values), 4),
    }


def sources(kind: str) -> list[Path]:
    if kind == "sample":
        return [Path(pipelines.__file__).parent / "sample_course"]
    corpus = REPO.parent / "shared" / "corpus"
    if not corpus.exists():
        raise SystemExit(f"{corpus} is absent; use --index sample")
    return [corpus / "hf-course"] if kind == "hf-course" else [p for p in corpus.iterdir() if p.is_dir()]


def more_than(count: int) -> Callable[[list[Call]], bool]:
    """A predicate for ``DiscordAPI.wait_for``: more than ``count`` calls have arrived."""
    return lambda calls: len(calls) > count


async def measure(bot: CourseTABot, api: DiscordAPI, payloads: list[dict], expect_followup: bool) -> tuple[list[float], list[float]]:
    started: dict[str, float] = {}
    for payload in payloads:
        started[payload["token"]] = time.perf_counter()
        bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    deferred: dict[str, float] = {}
    done: dict[str, float] = {}
    seen = 0
    while len(done if expect_followup else deferred) < len(payloads):
        await api.wait_for(more_than(seen), timeout=1800)
        for call in api.calls[seen:]:
            token = next((t for t in started if t in call.path), None)
            if token is None:
                continue
            if call.path.endswith("/callback"):
                deferred.setdefault(token, call.at)
            elif call.path.startswith("/webhooks/"):
                done.setdefault(token, call.at)
        seen = len(api.calls)
    return [deferred[t] - started[t] for t in started], [done[t] - started[t] for t in done]


async def run(args: argparse.Namespace, data_dir: Path) -> dict:
    settings = load_settings(data_dir=data_dir, voice_backends="piper", discord_cooldown_seconds=0)
    service = AnswerService(settings)
    renderer = VoiceRenderer(settings)
    api = DiscordAPI()
    discord.http.Route.BASE = await api.start()
    bot = CourseTABot(CourseTA(settings, service, renderer), sync=False)

    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)

    bot.tree.add_command(app_commands.Command(name="ping", description="defer only (baseline)", callback=ping))
    await bot.login("bench-token")
    bot._connection.parse_guild_create(guild_create())
    renderer.render("Warm up.", formats=("ogg",))
    results: dict = {}
    await measure(bot, api, [command_interaction("ping") for _ in range(args.concurrency)], False)  # warm connections
    # baseline 1: a defer-only command, same concurrency: what discord.py + aiohttp alone cost
    defer_only, _ = await measure(bot, api, [command_interaction("ping") for _ in range(args.concurrency)], False)
    results["baseline_defer_only_command"] = summary(defer_only)
    # baseline 2: one /ask at a time (no queueing), fresh questions so no clip comes from the cache
    singles_defer, singles_followup = [], []
    for round_ in range(args.singles):
        q = f"{QUESTIONS[round_ % len(QUESTIONS)]} (single {round_} {time.time_ns()})"
        d, f = await measure(bot, api, [command_interaction("ask", [option("question", q)])], True)
        singles_defer += d
        singles_followup += f
    results["baseline_single_ask"] = {"defer": summary(singles_defer), "followup": summary(singles_followup)}
    # the figure: N concurrent /ask
    payloads = [
        command_interaction(
            "ask", [option("question", f"{QUESTIONS[i % len(QUESTIONS)]} (#{i} {time.time_ns()})")], user_id=932000000000100000 + i
        )
        for i in range(args.concurrency)
    ]
    defers, followups = await measure(bot, api, payloads, True)
    results[f"concurrent_{args.concurrency}_ask"] = {"defer": summary(defers), "followup": summary(followups)}
    results["target_defer_p99_under_0_3_s"] = pct(defers, 99) < 0.3
    await bot.close()
    await api.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", choices=("sample", "hf-course", "corpus"), default="sample")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--singles", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="discord-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        report = Ingestor(load_settings(data_dir=data_dir)).ingest(sources(args.index))
        ingest_s = time.perf_counter() - started
        results = asyncio.run(run(args, data_dir))
    out = {
        "benchmark": "discord_bench",
        "index": args.index,
        "videos": len(report.outcomes),
        "ingest_s": round(ingest_s, 1),
        "cpu_count": os.cpu_count(),
        "answerer": "offline",
        "voice": "piper",
        "path": "discord.py parse_interaction_create -> CommandTree -> REST (local server)",
        **results,
    }
    target = REPO / "benchmarks" / "results" / "discord_bench.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
