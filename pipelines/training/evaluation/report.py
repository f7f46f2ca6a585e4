"""Evaluation output: a JSON document, a fixed-width table for the terminal, a hit@k plot (PNG)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pipelines.training.evaluation.metrics import KS
from pipelines.training.evaluation.runner import EvalRun

COLUMNS = [
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
    ("hit@5", "hit@5"),
    ("mrr", "MRR"),
    ("ndcg@10", "nDCG@10"),
    ("cited_first", "cited@1"),
    ("cited_expected", "cited@3"),
    ("window_hit", "time±15s"),
    ("citations_per_answer", "cites"),
    ("decline_rate", "declined"),
    ("false_decline_rate", "false-decl"),
    ("p95_ms", "p95 ms"),
]


def _cell(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else (f"{value:.2f}" if value < 10 else f"{value:.0f}")
    return str(value)


def summary_table(runs: Sequence[EvalRun]) -> str:
    """One row per configuration, same columns as the benchmark table in the README's search-quality section."""
    header = ["configuration"] + [label for _, label in COLUMNS]
    rows = [[run.name] + [_cell(run.summary.to_dict()[key]) for key, _ in COLUMNS] for run in runs]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[object]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]])


def question_table(run: EvalRun) -> str:
    """Per question: rank of the expected video, time-window hit, declined, latency."""
    lines = [f"{'rank':>4}  {'time':>4}  {'decl':>4}  {'ms':>6}  question"]
    for r in run.results:
        rank = "-" if not r.answerable else (str(r.rank) if r.rank else "miss")
        window = "-" if not r.answerable else ("yes" if r.window_hit else "no")
        lines.append(f"{rank:>4}  {window:>4}  {'yes' if r.declined else 'no':>4}  {r.latency_s * 1000:6.0f}  {r.question[:90]}")
    return "\n".join(lines)


def write_json(runs: Sequence[EvalRun], path: Path, extra: dict | None = None) -> None:
    """Every run, after the top-level fields of ``extra``, as indented JSON; parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**(extra or {}), "runs": [run.to_dict() for run in runs]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plot_hits(runs: Sequence[EvalRun], path: Path, title: str = "hit@k per configuration") -> None:
    """Grouped bars: hit@1/3/5 for each configuration (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(max(6, 1.6 * len(runs) + 2), 4))
    width = 0.8 / len(KS)
    for offset, k in enumerate(KS):
        values = [run.summary.hits[k] for run in runs]
        positions = [i + (offset - (len(KS) - 1) / 2) * width for i in range(len(runs))]
        bars = axes.bar(positions, values, width, label=f"hit@{k}")
        axes.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
    axes.set_xticks(range(len(runs)), [run.name for run in runs], rotation=15, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("share of answerable questions")
    axes.set_title(title)
    axes.legend(loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
