"""The console's charts, drawn on the server with matplotlib as SVG (no JavaScript, nothing fetched by the browser).

Text in the SVG is kept as text (``svg.fonttype: none``), which matplotlib escapes, so a question or
title shown in a chart is never markup. Figures are built with the object API (no pyplot state), so
requests in different threads never share a figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure  # a bare Figure needs no GUI backend: savefig picks the SVG canvas

from bot.console.data import CitedVideo, Overview

STYLE: Any = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "course-ta"}
COLOURS = ["#3867d6", "#20bf6b", "#fa8231", "#8854d0", "#eb3b5a", "#0fb9b1", "#778ca3"]


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _empty(message: str) -> str:
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6, 1.2))
        axes = figure.add_subplot()
        axes.axis("off")
        axes.text(0.5, 0.5, message, ha="center", va="center", color="#555")
        return _svg(figure)


def overview_chart(data: Overview) -> str:
    """Four panels: questions per day by platform, answered vs not covered, 👍/👎 per day, answer latency."""
    if not data.questions:
        return _empty(f"No questions in the last {data.days} days.")
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(11, 6.5))
        (by_platform, coverage), (votes, latency) = figure.subplots(2, 2)
        days = sorted({row["day"] for row in data.per_day})
        index = {day: i for i, day in enumerate(days)}
        bottom = [0] * len(days)
        for colour, platform in zip(COLOURS, data.platforms, strict=False):
            heights = [0] * len(days)
            for row in data.per_day:
                if row["platform"] == platform:
                    heights[index[row["day"]]] += row["answered"] + row["not_covered"]
            by_platform.bar(range(len(days)), heights, bottom=bottom, color=colour, label=platform)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        by_platform.set_title("Questions per day by platform")
        by_platform.legend(loc="upper left", frameon=False)
        answered = [0] * len(days)
        declined = [0] * len(days)
        for row in data.per_day:
            answered[index[row["day"]]] += row["answered"]
            declined[index[row["day"]]] += row["not_covered"]
        coverage.bar(range(len(days)), answered, color=COLOURS[1], label="answered")
        coverage.bar(range(len(days)), declined, bottom=answered, color=COLOURS[4], label="not covered")
        coverage.set_title("Answered vs \u201cnot covered\u201d")
        coverage.legend(loc="upper left", frameon=False)
        up = [0] * len(days)
        down = [0] * len(days)
        for row in data.votes_per_day:
            if row["day"] in index:
                up[index[row["day"]]] = row["up"]
                down[index[row["day"]]] = -row["down"]
        votes.bar(range(len(days)), up, color=COLOURS[1], label="helpful")
        votes.bar(range(len(days)), down, color=COLOURS[4], label="not helpful")
        votes.axhline(0, color="#999", linewidth=0.8)
        votes.set_title("Votes per day (helpful up, not helpful down)")
        votes.legend(loc="upper left", frameon=False)
        for axes in (by_platform, coverage, votes):
            _day_ticks(axes, days)
        if data.latencies:
            latency.hist(data.latencies, bins=40, color=COLOURS[0])
            latency.axvline(data.latency_p95 or 0, color=COLOURS[4], linestyle="--", label=f"p95 {data.latency_p95:.1f} s")
            latency.legend(frameon=False)
        else:
            latency.text(0.5, 0.5, "no latency recorded", ha="center", va="center", transform=latency.transAxes, color="#555")
        latency.set_title("Answer latency (seconds)")
        figure.tight_layout()
        return _svg(figure)


def _day_ticks(axes: Any, days: Sequence[str]) -> None:
    step = max(1, len(days) // 8)
    positions = list(range(0, len(days), step))
    axes.set_xticks(positions, [days[i][5:] for i in positions])


def gaps_chart(labels: Sequence[str], sizes: Sequence[int]) -> str:
    """The largest coverage-gap clusters as horizontal bars, labelled by their most central question."""
    if not sizes:
        return _empty("No declined or down-voted questions yet.")
    shown = list(zip(labels, sizes, strict=True))[:15][::-1]
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(10, 0.35 * len(shown) + 1))
        axes = figure.add_subplot()
        axes.barh(range(len(shown)), [size for _, size in shown], color=COLOURS[4])
        axes.set_yticks(range(len(shown)), [_short(label, 70) for label, _ in shown])
        axes.set_xlabel("questions")
        axes.set_title("Largest coverage gaps")
        figure.tight_layout()
        return _svg(figure)


def moments_chart(videos: Sequence[CitedVideo]) -> str:
    """A strip per video: where on its timeline (minutes) answers point; dot size is how often."""
    if not videos:
        return _empty("No answer has cited a lecture yet.")
    shown = list(videos)[:15][::-1]
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(10, 0.42 * len(shown) + 1.2))
        axes = figure.add_subplot()
        peak = max((count for video in shown for _, count in video.moments), default=1)
        for row, video in enumerate(shown):
            if video.moments:
                xs = [second / 60 for second, _ in video.moments]
                sizes = [12 + 180 * count / peak for _, count in video.moments]
                axes.scatter(xs, [row] * len(xs), s=sizes, alpha=0.55, color=COLOURS[row % len(COLOURS)], edgecolors="none")
        axes.set_yticks(range(len(shown)), [_short(video.title, 45) for video in shown])
        axes.set_xlabel("minute of the video")
        axes.set_title("Where answers point, per video")
        figure.tight_layout()
        return _svg(figure)


def stage_chart(counts: dict[str, dict[str, int]]) -> str:
    """Videos per ledger stage, stacked by status."""
    if not any(counts.values()):
        return _empty("The ledger is empty: nothing was ingested or synced yet.")
    stages = list(counts)
    statuses = sorted({status for by_status in counts.values() for status in by_status})
    palette = {"done": COLOURS[1], "failed": COLOURS[4], "skipped": COLOURS[6], "running": COLOURS[0], "pending": COLOURS[2]}
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(8, 3))
        axes = figure.add_subplot()
        bottom = [0] * len(stages)
        for number, status in enumerate(statuses):
            heights = [counts[stage].get(status, 0) for stage in stages]
            axes.bar(stages, heights, bottom=bottom, label=status, color=palette.get(status, COLOURS[number % len(COLOURS)]))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        axes.set_ylabel("videos")
        axes.set_title("Videos per stage")
        axes.legend(frameon=False, ncols=len(statuses))
        figure.tight_layout()
        return _svg(figure)


def escalations_chart(rows: Sequence[dict[str, Any]]) -> str:
    """Escalations opened and resolved per day."""
    if not rows:
        return _empty("No escalations yet.")
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(8, 2.8))
        axes = figure.add_subplot()
        days = [row["day"] for row in rows]
        positions = range(len(days))
        axes.bar([p - 0.2 for p in positions], [row["opened"] for row in rows], width=0.4, color=COLOURS[2], label="opened")
        axes.bar([p + 0.2 for p in positions], [row["resolved"] for row in rows], width=0.4, color=COLOURS[1], label="resolved")
        _day_ticks(axes, days)
        axes.set_title("Escalations per day")
        axes.legend(frameon=False)
        figure.tight_layout()
        return _svg(figure)
