"""Discord latency through the real discord.py code path (payload parser → CommandTree → REST).

Measures, per /ask, the time from handing discord.py the INTERACTION_CREATE to the local REST
server receiving (a) the deferral, (b) the text of the answer and (c) the Piper clip, for N
concurrent commands. Two configurations in the same run, on the same index:
- ``before``: the previous code path: one answer worker, one voice worker, the clip rendered
  before the text and posted with it in one followup (``COURSE_TA_DISCORD_CLIP_MODE=with_text``);
- ``after``: the defaults: one answer worker per core, a separate voice pool, the text posted as
  soon as the answer exists and the clip following as a voice message.
Questions are unique (no answer- or clip-cache hits). Also a defer-only command (pure discord.py +
aiohttp cost) and single /asks with nothing else in flight.

    .venv/bin/python benchmarks/discord_bench.py [--index sample|hf-course|corpus] [--concurrency 20]

Writes benchmarks/results/discord_bench.json. The corpus index (241 videos) is built once into a
temporary data dir when ../shared/corpus exists (embedding ~7,700 chunks takes minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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
from pipelines.stores.document_store import open_store  # noqa: E402
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


async def measure(bot: CourseTABot, api: DiscordAPI, payloads: list[dict], expect_clip: bool) -> dict[str, list[float]]:
    """Per interaction: seconds to the deferral, to the answer's text, to the clip (as they reach the server)."""
    started: dict[str, float] = {}
    for payload in payloads:
        started[payload["token"]] = time.perf_counter()
        bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    marks: dict[str, dict[str, float]] = {"defer": {}, "text": {}, "clip": {}}
    seen = 0
    target = "clip" if expect_clip else "defer"
    while len(marks[target]) < len(payloads):
        await api.wait_for(more_than(seen), timeout=1800)
        for call in api.calls[seen:]:
            token = next((t for t in started if t in call.path), None)
            if token is None:
                continue
            if call.path.endswith("/callback"):
                marks["defer"].setdefault(token, call.at)
                continue
            payload = call.payload if isinstance(call.payload, dict) else {}
            if payload.get("embeds"):
                marks["text"].setdefault(token, call.at)
            if call.files:
                marks["clip"].setdefault(token, call.at)
        seen = len(api.calls)
    return {name: [at[t] - started[t] for t in at] for name, at in marks.items()}


async def run_config(indexed: Path, name: str, args: argparse.Namespace, **overrides: object) -> dict:
    # Each configuration gets its own copy of the index and an empty clip cache, so neither reuses the other's clips.
    data_dir = indexed / "configs" / name
    shutil.copytree(indexed / "store", data_dir / "store")
    settings = load_settings(data_dir=data_dir, voice_backends="piper", discord_cooldown_seconds=0, **overrides)
    service = AnswerService(settings)
    renderer = VoiceRenderer(settings)
    api = DiscordAPI()
    discord.http.Route.BASE = await api.start()
    bot = CourseTABot(CourseTA(settings, service, renderer), sync=False)

    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)

    bot.tree.add_command(app_commands.Command(name="ping", description="defer only (baseline)", callback=ping))
    await bot.login("bench-token")
    service.warm_up()
    bot._connection.parse_guild_create(guild_create())
    renderer.render("Warm up.", formats=("ogg",))
    results: dict = {"answer_workers": settings.answer_pool_size, "voice_workers": settings.voice_workers, **overrides}
    await measure(bot, api, [command_interaction("ping") for _ in range(args.concurrency)], False)  # warm connections
    defer_only = (await measure(bot, api, [command_interaction("ping") for _ in range(args.concurrency)], False))["defer"]
    results["defer_only_command"] = summary(defer_only)
    singles: dict[str, list[float]] = {"defer": [], "text": [], "clip": []}
    for round_ in range(args.singles):
        q = f"{QUESTIONS[round_ % len(QUESTIONS)]} (single {round_} {time.time_ns()})"
        for name, values in (await measure(bot, api, [command_interaction("ask", [option("question", q)])], True)).items():
            singles[name] += values
    results["single_ask"] = {name: summary(values) for name, values in singles.items()}
    payloads = [
        command_interaction(
            "ask", [option("question", f"{QUESTIONS[i % len(QUESTIONS)]} (#{i} {time.time_ns()})")], user_id=932000000000100000 + i
        )
        for i in range(args.concurrency)
    ]
    marks = await measure(bot, api, payloads, True)
    results[f"concurrent_{args.concurrency}_ask"] = {name: summary(values) for name, values in marks.items()}
    await bot.close()
    service.close()
    await api.stop()
    return results


async def run(args: argparse.Namespace, data_dir: Path) -> dict:
    before = await run_config(
        data_dir, "before", args, answer_workers=1, voice_workers=1, discord_clip_mode="with_text", answer_cache_size=0
    )
    after = await run_config(data_dir, "after", args)
    key = f"concurrent_{args.concurrency}_ask"
    ratios = {
        f"{what}_p95_before_over_after": round(before[key][what]["p95_s"] / after[key][what]["p95_s"], 2) for what in ("text", "clip")
    }
    return {"before": before, "after": after, "ratios": ratios, "target_defer_p99_under_0_3_s": after[key]["defer"]["p99_s"] < 0.3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", choices=("sample", "hf-course", "corpus"), default="sample")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--singles", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, help="an already indexed data dir: its store is copied, nothing is ingested")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="discord-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        if args.data_dir is not None:
            shutil.copytree(args.data_dir / "store", data_dir / "store")
            videos = len({d.meta.get("video_id") for d in open_store(load_settings(data_dir=data_dir)).store.filter_documents()})
        else:
            videos = len(Ingestor(load_settings(data_dir=data_dir)).ingest(sources(args.index)).outcomes)
        ingest_s = time.perf_counter() - started
        results = asyncio.run(run(args, data_dir))
    out = {
        "benchmark": "discord_bench",
        "index": str(args.data_dir) if args.data_dir is not None else args.index,
        "videos": videos,
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
