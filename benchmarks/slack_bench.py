"""Slack benchmark: 20 concurrent @mentions through the real Bolt HTTP path, 241-video index.

Writes benchmarks/results/slack_bench.json. Every request is a signed Events API POST to the app's
threaded WSGI server (what ``course-ta serve slack --mode http`` runs); the Web API is a local server
speaking Slack's wire format (tests/fakes/slack_web_api.py), so Slack's own latency is not measured.
Figures, each with the baseline measured in the same run:
- ack latency p50/p99 (target p99 < 0.3 s), against the same burst into an app whose listener only acks;
- time to the placeholder and to the first text answer p50/p95, against one question answered alone
  (the AnswerService's own time with nothing else running);
- time to the voice clip in the thread (Piper), for completeness.
The index is built once from ../shared/corpus and cached in benchmarks/results/slack_bench_index.
Usage: python benchmarks/slack_bench.py [--mentions 20] [--no-voice] [--corpus ../shared/corpus]
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


def burst(url: str, wire: SlackWire, texts: list[str]) -> list[dict[str, Any]]:
    """All mentions released at once (a barrier), each from its own student; ack = HTTP round trip."""
    payloads = [mention(text, CHANNEL, f"U0STUDENT{i:03d}", wire.team_id, wire.bot_user_id) for i, text in enumerate(texts)]
    barrier = threading.Barrier(len(payloads))
    results: list[dict[str, Any]] = [{} for _ in payloads]

    def one(i: int) -> None:
        body = json.dumps(payloads[i])
        barrier.wait()
        sent = time.monotonic()
        delivery = deliver(url, body, SECRET)
        results[i] = {"ts": payloads[i]["event"]["ts"], "sent": sent, "ack_s": delivery.seconds, "status": delivery.status}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


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
    parser.add_argument("--mentions", type=int, default=20)
    parser.add_argument("--no-voice", action="store_true", help="skip the voice clips")
    args = parser.parse_args()
    if not (args.corpus / "hf-course" / "manifest.csv").exists():
        print(f"slack_bench: skipped, {args.corpus} is not present", file=sys.stderr)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    data_dir = RESULTS / "slack_bench_index"
    index = build_index(args.corpus, data_dir)
    print(f"index: {index}", file=sys.stderr)

    settings = load_settings(
        data_dir=data_dir,
        voice_backends="piper",
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_mode="http",
        slack_voice_clips=not args.no_voice,
        slack_rate_limit=1000,
    )
    service = AnswerService(settings)
    service.warm_up()
    print("answer service warm", file=sys.stderr, flush=True)
    texts = questions(args.mentions)
    service.answer("warm up the caches")
    alone = []
    for text in texts[:5]:
        started = time.perf_counter()
        service.answer(text)
        alone.append(time.perf_counter() - started)

    wire = SlackWire(TOKEN).start()
    try:
        print(f"single answers alone: {[round(a, 2) for a in alone]}", file=sys.stderr, flush=True)
        baseline_acks = ack_only_baseline(wire, args.mentions)
        print("baseline burst done", file=sys.stderr, flush=True)
        wire.calls.clear()
        log_dir = RESULTS / "slack_bench_log"
        log_dir.mkdir(exist_ok=True)
        (log_dir / "feedback.sqlite").unlink(missing_ok=True)
        bot = create_slack_bot(
            settings, service, client=WebClient(token=TOKEN, base_url=wire.api_url, timeout=30), log=AnswerLog(log_dir / "feedback.sqlite")
        )
        server, url = serve(bot)
        started = time.monotonic()
        sent = burst(url, wire, texts)

        def done() -> bool:
            answered = sum(1 for r in sent if _answer_time(wire, r["ts"]) is not None)
            clips = len(wire.calls_to("files.completeUploadExternal"))
            return answered == len(sent) and (args.no_voice or clips == len(sent))

        print("burst sent; waiting for answers", file=sys.stderr, flush=True)
        wire.wait_for(done, timeout=900, what="all answers")
        wall = time.monotonic() - started
        server.shutdown()
        bot.close()
    finally:
        wire.stop()

    acks = [r["ack_s"] for r in sent]
    placeholder = [_placeholder_time(wire, r["ts"]) - r["sent"] for r in sent]
    first_text = [_answer_time(wire, r["ts"]) - r["sent"] for r in sent]
    uploads = sorted(c.at - started for c in wire.calls_to("files.completeUploadExternal"))
    result = {
        "benchmark": "slack_bench",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "index": index,
        "mentions": args.mentions,
        "statuses": sorted({r["status"] for r in sent}),
        "path": "signed Events API POST -> ThreadingWSGIServer -> slack_bolt WSGI adapter -> App.dispatch (lazy listeners)",
        "ack_latency_s": summary(acks),
        "ack_latency_target": {"p99_below_s": 0.3, "met": pct(acks, 99) < 0.3},
        "baseline_ack_only_listener_s": summary(baseline_acks),
        "time_to_placeholder_s": summary(placeholder),
        "time_to_first_text_answer_s": summary(first_text),
        "baseline_single_answer_alone_s": summary(alone),
        "answer_concurrency": settings.slack_answer_concurrency,
        "voice_clips_uploaded_at_s": {"first": round(uploads[0], 3), "last": round(uploads[-1], 3)} if uploads else None,
        "wall_s": round(wall, 2),
    }
    out = RESULTS / "slack_bench.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def _placeholder_time(wire: SlackWire, ts: str) -> float:
    return min(c.at for c in wire.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts)


def _answer_time(wire: SlackWire, ts: str) -> float | None:
    """When the placeholder in this question's thread was first edited into the answer."""
    placeholder = [m["ts"] for m in wire.thread(CHANNEL, ts) if m["user"] == wire.bot_user_id]
    edits = [c.at for c in wire.calls_to("chat.update") if c.params.get("ts") in placeholder]
    return min(edits) if edits else None


if __name__ == "__main__":
    sys.exit(main())
