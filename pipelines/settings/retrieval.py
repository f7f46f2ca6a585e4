"""How a question is searched: candidates, the optional rerank stage, the per-video cap, and when to decline."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from pipelines.settings.validators import model_name_or_dir


class RetrievalSettings(BaseModel):
    """What the query pipeline fetches, keeps and cites for one question."""

    top_k: int = Field(default=5, ge=1, le=50)
    # Candidates from each retriever before fusion. Measured on the 241-video corpus and 320 dev questions
    # (benchmarks/answer_latency_bench.py, one run): 16 against 40 gives hit@1 0.822 vs 0.815, hit@3 0.933
    # vs 0.919, cited moment in the window 0.648 vs 0.644, and answers 13 % faster at p95 (35.5 vs 40.7 ms):
    # a deeper BM25 tail only adds noise to the fused list, and every candidate is copied between components.
    candidates: int = Field(default=16, ge=5, le=500)
    max_chunks_per_video: int = Field(default=2, ge=1, le=20)
    # Calibrated on the 320-question dev set with the bundled model and hybrid search, at most 3 % of
    # answerable questions declined (benchmarks/answer_quality_bench.py: 0.544 and 0.565 on its two
    # lecture folds); a DATA_DIR/calibration.json for the configured model and the same relevance
    # score takes precedence (pipelines.search.calibration.effective_min_relevance).
    min_relevance: float = Field(default=0.55, ge=-1.0, le=1.0)
    max_question_chars: int = Field(default=4000, ge=10, le=100_000)
    # Optional cross-encoder rerank stage after rank fusion: a local CrossEncoder directory (or hub name
    # where downloads are allowed); empty = no rerank stage, the pipeline is exactly the hybrid one.
    reranker_model: Annotated[str, AfterValidator(model_name_or_dir("cross-encoder directory"))] = ""
    # The cross-encoder scores every fused candidate and passes on its best rerank_top_k to the per-video cap.
    rerank_top_k: int = Field(default=20, ge=1, le=500)
