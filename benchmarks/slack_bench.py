"""Slack benchmark: native streaming against the placeholder path, 1 and 20 concurrent @mentions, 241-video index.

Writes benchmarks/results/slack_bench.json. Every request is a signed Events API POST to the app's
threaded WSGI server (what ``course-ta serve slack --mode http`` runs); the Web API is a local server
speaking Slack's wire format, streaming included (tests/fakes/slack_web_api.py), so Slack's own
latency is not measured. For each path (``stream``: chat.startStream/appendStream/stopStream;
``placeholder``: the same app when Slack refuses chat.startStream, so chat.postMessage + chat.update)
and each load (1 mention, then N at once) it measures, from the moment each POST was sent:
- time to something visible (the stream's start or the placeholder),
- time to the first characters of the answer text (first streamed text / first edit with text),
- time to the finished message (stream stopped / final edit),
and the ack latency of the N-mention burst against an app whose listener only acks (same run).
Ratios compare the stream path with the placeholder path measured in the same run, and each load
with one question answered alone by the AnswerService. Voice clips are off (they come after the text).
The index is built once from ../shared/corpus and cached in benchmarks/results/slack_bench_index,
or an already indexed data dir is used with --data-dir.
Usage: python benchmarks/slack_bench.py [--mentions 20] [--corpus ../shared/corpus] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bot.answering.feedback import AnswerLog  # noqa: E402
from bot.answering.service import AnswerService  # noqa: E402
from bot.slack.app import SlackBot, create_slack_bot  # noqa: E402
from bot.slack.server import ThreadingWSGIServer, make_http_server  # noqa: E402
from pipelines.freshness.ingest import Ingestor  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402
from tests.bot.slack.slack_events import deliver, mention  # noqa: E402
from tests.fakes.slack_web_api import SlackWire  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TOKEN = "xoxb-bench-local-only"
SECRET = "bench-signing-secret-0123456789ab"
CHANNEL = "C0BENCH001"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(pct(values, 50), 4),
        "p95": round(pct(values, 95), 4),
        "p99": round(pct(values, 99), 4),
        "max": round(max(values), 4),
        "mean": round(statistics.fmean(values), 4),
        "n": len(values),
    }


def build_index(corpus: Path, data_dir: Path) -> dict[str, Any]:
    folders = sorted(p for p in corpus.iterdir() if (p / "manifest.csv").exists())
    started = time.perf_counter()
    report = Ingestor(load_settings(data_dir=data_dir)).ingest(folders)
    statuses: dict[str, int] = {}
    for outcome in report.outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return {"videos": len(report.outcomes), "statuses": statuses, "seconds": round(time.perf_counter() - started, 1)}


def questions(count: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "benchmarks" / "questions.jsonl").read_text().splitlines() if line.strip()]
    return [rows[i % len(rows)]["question"] for i in range(count)]


def serve(app_or_bot: Any) -> tuple[ThreadingWSGIServer, str]:
    if isinstance(app_or_bot, SlackBot):
        server = make_http_server(app_or_bot, "127.0.0.1", 0)
    else:  # the ack-only baseline app, same adapter and server class
        from wsgiref.simple_server import make_server

        from slack_bolt.adapter.wsgi import SlackRequestHandler

        from bot.slack.server import _QuietHandler

        server = make_server("127.0.0.1", 0, SlackRequestHandler(app_or_bot), server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/slack/events"


def send_all(url: str, wire: SlackWire, texts: list[str], student: str, wait: Any) -> list[dict[str, Any]]:
    """One thread per mention, each from its own student; ``wait(i)`` holds mention ``i`` until its moment; ack = HTTP round trip."""
    payloads = [mention(text, CHANNEL, f"{student}{i:03d}", wire.team_id, wire.bot_user_id) for i, text in enumerate(texts)]
    results: list[dict[str, Any]] = [{} for _ in payloads]

    def one(i: int) -> None:
        body = json.dumps(payloads[i])
        wait(i)
        sent = time.monotonic()
        delivery = deliver(url, body, SECRET)
        results[i] = {"ts": payloads[i]["event"]["ts"], "sent": sent, "ack_s": delivery.seconds, "status": delivery.status}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def burst(url: str, wire: SlackWire, texts: list[str]) -> list[dict[str, Any]]:
    """All mentions released at once (a barrier)."""
    barrier = threading.Barrier(len(texts))
    return send_all(url, wire, texts, "U0STUDENT", lambda i: barrier.wait())


def spread(url: str, wire: SlackWire, texts: list[str], seconds: float) -> list[dict[str, Any]]:
    """Mentions arriving one by one, evenly over ``seconds`` (a class asking within a few seconds)."""
    start = time.monotonic() + 0.5
    gap = seconds / max(1, len(texts))
    return send_all(url, wire, texts, "U0SPREAD", lambda i: time.sleep(max(0.0, start + i * gap - time.monotonic())))


def ack_only_baseline(wire: SlackWire, count: int) -> list[float]:
    app = App(client=WebClient(token=TOKEN, base_url=wire.api_url), signing_secret=SECRET)

    @app.event("app_mention")
    def nothing(ack: Any) -> None:
        ack()

    server, url = serve(app)
    try:
        burst(url, wire, ["warm-up"])
        return [r["ack_s"] for r in burst(url, wire, [f"question {i}" for i in range(count)])]
    finally:
        server.shutdown()
        server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--data-dir", type=Path, default=None, help="an already indexed data dir (read only)")
    parser.add_argument("--mentions", type=int, default=20)
    parser.add_argument("--class-size", type=int, default=100, help="the spread run: this many mentions ...")
    parser.add_argument("--class-seconds", type=float, default=10.0, help="... arriving evenly over this many seconds (0: skip)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.data_dir is not None:
        data_dir, index = args.data_dir, {"data_dir": str(args.data_dir), "built": False}
    else:
        if not (args.corpus / "hf-course" / "manifest.csv").exists():
            print(f"slack_bench: skipped, {args.corpus} is not present", file=sys.stderr)
            return 0
        data_dir = RESULTS / "slack_bench_index"
        index = build_index(args.corpus, data_dir)
    print(f"index: {index}", file=sys.stderr)

    settings = load_settings(
        data_dir=data_dir,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_mode="http",
        slack_voice_clips=False,
        slack_rate_limit=1000,
        answer_cache_size=0,  # every run computes its answers; a cache would favour whichever path runs second
    )
    service = AnswerService(settings)
    service.warm_up()
    texts = questions(args.mentions)
    service.answer("warm up the caches")
    alone = []
    for text in texts[:5]:
        started = time.perf_counter()
        service.answer(text)
        alone.append(time.perf_counter() - started)
    print(f"single answers alone: {[round(a, 2) for a in alone]}", file=sys.stderr, flush=True)

    wire = SlackWire(TOKEN).start()
    try:
        baseline_acks = ack_only_baseline(wire, args.mentions)
    finally:
        wire.stop()
    runs: dict[str, dict[str, Any]] = {}
    for path in ("stream", "placeholder"):
        for count in (1, args.mentions):
            runs[f"{path}_{count}"] = one_run(settings, service, path, texts[:count])
            print(f"{path} x{count}: {runs[f'{path}_{count}']['time_to_first_text_s']}", file=sys.stderr, flush=True)

    if args.class_seconds > 0:
        runs[f"class_{args.class_size}_in_{args.class_seconds:g}s"] = one_run(
            settings, service, "stream", questions(args.class_size), spread_over=args.class_seconds
        )
        print(f"class run: {runs[f'class_{args.class_size}_in_{args.class_seconds:g}s']['time_to_first_text_s']}", file=sys.stderr)

    def ratio(key: str, figure: str, stat: str = "p50") -> float:
        return round(runs[f"stream_{key}"][figure][stat] / runs[f"placeholder_{key}"][figure][stat], 3)

    loads = (1, args.mentions)
    result = {
        "benchmark": "slack_bench",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "index": index,
        "mentions": args.mentions,
        "answer_pool_size": settings.answer_pool_size,
        "path": "signed Events API POST -> ThreadingWSGIServer -> slack_bolt WSGI adapter -> App.dispatch (lazy listeners) -> answer pool",
        "baseline_single_answer_alone_s": summary(alone),
        "baseline_ack_only_listener_s": summary(baseline_acks),
        "runs": runs,
        "stream_vs_placeholder_first_text_p50": {f"x{n}": ratio(str(n), "time_to_first_text_s") for n in loads},
        "stream_vs_placeholder_first_text_p95": {f"x{n}": ratio(str(n), "time_to_first_text_s", "p95") for n in loads},
        "stream_vs_placeholder_visible_p50": {f"x{n}": ratio(str(n), "time_to_visible_s") for n in loads},
        "first_text_vs_answer_alone_p50": {
            f"{path}_x{n}": round(runs[f"{path}_{n}"]["time_to_first_text_s"]["p50"] / pct(alone, 50), 3)
            for path in ("stream", "placeholder")
            for n in loads
        },
        "ack_p99_vs_ack_only_p99": round(pct(runs[f"stream_{args.mentions}"]["ack_s_raw"], 99) / pct(baseline_acks, 99), 3),
    }
    for run in runs.values():
        run.pop("ack_s_raw")
    out = RESULTS / "slack_bench.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def one_run(settings: Any, service: AnswerService, path: str, texts: list[str], spread_over: float = 0.0) -> dict[str, Any]:
    """One burst of ``texts`` into a fresh bot and a fresh Slack; the placeholder path is Slack refusing chat.startStream."""
    wire = SlackWire(TOKEN).start()
    if path == "placeholder":
        wire.fail["chat.startStream"] = "not_allowed"
    log_dir = RESULTS / "slack_bench_log"
    log_dir.mkdir(exist_ok=True)
    (log_dir / "feedback.sqlite").unlink(missing_ok=True)
    bot = create_slack_bot(
        settings, service, client=WebClient(token=TOKEN, base_url=wire.api_url, timeout=30), log=AnswerLog(log_dir / "feedback.sqlite")
    )
    server, url = serve(bot)
    try:
        started = time.monotonic()
        sent = spread(url, wire, texts, spread_over) if spread_over else burst(url, wire, texts)
        wire.wait_for(lambda: all(_finished_at(wire, r["ts"]) is not None for r in sent), timeout=900, what="all answers")
        wall = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
        bot.close()
        wire.stop()
    visible = [_visible_at(wire, r["ts"]) - r["sent"] for r in sent]
    first_text = [_first_text_at(wire, r["ts"]) - r["sent"] for r in sent]
    final = [_finished_at(wire, r["ts"]) - r["sent"] for r in sent]  # type: ignore[operator]
    streamed = sum(1 for r in sent if "stream" in _bot_message(wire, r["ts"]))
    return {
        "mentions": len(texts),
        "spread_over_s": spread_over,
        "answered": sum(1 for r in sent if _finished_at(wire, r["ts"]) is not None),
        "streamed_messages": streamed,
        "statuses": sorted({r["status"] for r in sent}),
        "ack_latency_s": summary([r["ack_s"] for r in sent]),
        "ack_s_raw": [r["ack_s"] for r in sent],
        "time_to_visible_s": summary(visible),
        "time_to_first_text_s": summary(first_text),
        "time_to_final_s": summary(final),
        "wall_s": round(wall, 2),
    }


def _bot_message(wire: SlackWire, ts: str) -> dict[str, Any]:
    return next(m for m in wire.thread(CHANNEL, ts) if m["user"] == wire.bot_user_id)


def _visible_at(wire: SlackWire, ts: str) -> float:
    """When the stream started or the placeholder was posted in this question's thread."""
    return min(c.at for c in wire.calls_to("chat.startStream") + wire.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts)


def _has_text(call: Any) -> bool:
    if call.method == "chat.update":
        return any(b.get("type") == "section" for b in call.params.get("blocks") or [])
    chunks = call.params.get("chunks") or []
    return bool(call.params.get("markdown_text")) or any(c.get("type") == "markdown_text" and c.get("text") for c in chunks)


def _first_text_at(wire: SlackWire, ts: str) -> float:
    """When the first characters of the answer reached Slack: streamed text, or an edit that shows text."""
    message = _bot_message(wire, ts)["ts"]
    calls = [c for m in ("chat.appendStream", "chat.stopStream", "chat.update") for c in wire.calls_to(m)]
    return min(c.at for c in calls if c.params.get("ts") == message and _has_text(c))


def _finished_at(wire: SlackWire, ts: str) -> float | None:
    """When the message was finished: the stream stopped, or the last edit of the placeholder."""
    try:
        message = _bot_message(wire, ts)
    except StopIteration:
        return None
    if "stream" in message:
        stops = [c.at for c in wire.calls_to("chat.stopStream") if c.params.get("ts") == message["ts"]]
        return min(stops) if stops else None
    if not any(b.get("type") == "context_actions" or "Not covered" in json.dumps(b) for b in message["blocks"]):
        return None
    return max(c.at for c in wire.calls_to("chat.update") if c.params.get("ts") == message["ts"])


if __name__ == "__main__":
    sys.exit(main())
