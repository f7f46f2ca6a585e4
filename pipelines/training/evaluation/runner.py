"""Run dev questions through the real query pipeline and collect what the metrics need.

The pipeline is the one ``course-ta ask`` uses (``build_query_pipeline``), with one change: the
answerer runs with ``min_relevance = -1`` and the configured threshold is applied afterwards. The
answerer reports its relevance score and every citable moment in citation order, and it cites
exactly ``citations_at(candidates, threshold)`` (declining when the relevance is below the
threshold), so one run gives the answer at every threshold and calibration can try them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from haystack import Pipeline

from pipelines.search.calibration import effective_min_relevance
from pipelines.search.query import RetrievalMode, build_query_pipeline, query_inputs
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle
from pipelines.training.evaluation.metrics import QuestionResult, Summary, summarize
from pipelines.training.evaluation.questions import DevQuestion


@dataclass
class EvalRun:
    """One configuration's per-question results, the threshold they are judged at, and the settings that describe it."""

    name: str
    results: list[QuestionResult]
    threshold: float
    settings: dict = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        """The overall metrics, recomputed from the results at the current threshold."""
        return summarize(self.results)

    def with_threshold(self, threshold: float) -> EvalRun:
        """Judge every result at ``threshold`` instead (in place) and return this run."""
        for result in self.results:
            result.threshold = threshold
        self.threshold = threshold
        return self

    def to_dict(self) -> dict:
        """The run for the JSON report: settings, summary and every question."""
        return {
            "name": self.name,
            "threshold": self.threshold,
            "settings": self.settings,
            "summary": self.summary.to_dict(),
            "questions": [r.to_dict() for r in self.results],
        }


def ranking_source(pipeline: Pipeline) -> str:
    """The component whose ranked documents feed the diversity cap: fusion, reranker or a retriever."""
    feeding = [source for source, target in pipeline.graph.in_edges("diversity")]
    if len(feeding) != 1:
        raise ValueError(f"expected one component feeding 'diversity', found {feeding}")
    return feeding[0]


def evaluate(
    settings: Settings,
    bundle: StoreBundle,
    questions: Sequence[DevQuestion],
    *,
    name: str = "hybrid",
    mode: RetrievalMode = "hybrid",
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Answer every question with the configured pipeline; latency is the whole pipeline run per question."""
    threshold = effective_min_relevance(settings)  # what serving would use: explicit, calibrated, or default
    # The offline answerer scores every sentence, which decline and calibration need; an LLM answerer
    # (when one is configured) would only rewrite the text, so evaluation measures search with the offline one.
    overrides: dict = {"min_relevance": -1.0}
    if "llm_answers" in type(settings).model_fields:
        overrides["llm_answers"] = False
    pipeline = build_query_pipeline(settings.model_copy(update=overrides), bundle, mode)
    pipeline.warm_up()
    source = ranking_source(pipeline)
    pipeline.run(query_inputs(pipeline, "warm up the caches"))  # first-call costs are not per-question costs
    results = []
    for number, item in enumerate(questions, start=1):
        started = time.perf_counter()
        output = pipeline.run(query_inputs(pipeline, item.question), include_outputs_from={source})
        latency = time.perf_counter() - started
        ranked = [str(d.meta.get("video_id")) for d in output[source]["documents"]]
        results.append(
            QuestionResult(
                question=item.question,
                expected_video=item.video_id,
                ranked_videos=ranked,
                cited=list(output["answerer"]["candidates"]),
                best_score=float(output["answerer"]["relevance"]),
                latency_s=latency,
                start_s=item.start_s,
                end_s=item.end_s,
                threshold=threshold,
            )
        )
        if progress:
            progress(number, len(questions))
    described = {
        "mode": mode,
        "embedding_model": settings.embedding_model,
        "reranker_model": settings.reranker_model or None,
        "min_relevance": threshold,
        "top_k": settings.top_k,
        "candidates": settings.candidates,
    }
    return EvalRun(name, results, threshold, described)
