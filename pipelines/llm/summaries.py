"""Per-video summaries: a paragraph and 5-10 salient points, each linked to the second it is said.

With an LLM the summary is map-reduce: the transcript is cut into windows that fit the context;
each window's sentences are numbered and the model returns a partial summary with points that
name the sentence they come from (so a point's time is that sentence's start, never a guess);
a reduce call merges the partials and picks the points. Point numbers the model invents are
dropped. Every call is cached by content and model.

Without an LLM (or when it fails) the summary is extractive: the sentences most central to the
video by embedding (cosine to the video's centroid, with maximal marginal relevance so the points
cover different parts), quoted with their timestamps.

Summaries are stored under ``$DATA_DIR/summaries/<video_id>.json`` and indexed as ``kind=summary``
documents with the usual DESIGN.md meta.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from pipelines.atomic_file import write_text_atomically
from pipelines.corpus.chunking import SUMMARY_KIND, window_document
from pipelines.domain import Sentence, Video
from pipelines.llm.cache import LLMCache
from pipelines.llm.client import LLMClient, LLMError
from pipelines.llm.prompts import PROMPT_VERSION, summary_map_messages, summary_reduce_messages
from pipelines.search.sentence_vectors import text_vectors
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
EXTRACTIVE_VERSION = "1"
MIN_POINTS, MAX_POINTS = 5, 10
MIN_POINT_WORDS, MAX_POINT_WORDS = 6, 60
MAX_CANDIDATES = 160  # sentences embedded per video for the extractive summary (evenly spread)
MMR_LAMBDA = 0.7
STAGE = "summary"


@dataclass
class SalientPoint:
    """One point of a summary and the time span of the sentence it comes from (None when unknown)."""

    text: str
    start_s: float | None
    end_s: float | None


@dataclass
class VideoSummary:
    """A video's summary as stored and indexed, with how it was made and why the LLM was not used."""

    video_id: str
    title: str
    url: str
    summary: str
    points: list[SalientPoint]
    method: str  # "extractive" or "llm:<model>"
    source_hash: str = ""
    reasons: list[str] = field(default_factory=list)  # why the LLM path was not used, if it was not

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored under ``summaries/``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoSummary:
        """The inverse of :meth:`to_dict`."""
        points = [SalientPoint(**p) for p in data.get("points", [])]
        return cls(**{**data, "points": points})


def point_count(sentences: list[Sentence]) -> int:
    """About one point per 400 words, between 5 and 10 (fewer only when the video has fewer sentences)."""
    words = sum(len(s.text.split()) for s in sentences)
    return max(MIN_POINTS, min(MAX_POINTS, words // 400))


def source_hash(video: Video, sentences: list[Sentence], method: str) -> str:
    """A digest of everything a summary is made from; a stored summary with another hash is stale."""
    payload = json.dumps(
        {
            "title": video.title,
            "method": method,
            "v": [PROMPT_VERSION, EXTRACTIVE_VERSION],
            "sentences": [[s.text, s.start, s.end] for s in sentences],
        },
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# -- storage -------------------------------------------------------------------------------------


def summaries_dir(settings: Settings) -> Path:
    """``$DATA_DIR/summaries``."""
    return settings.data_dir / "summaries"


def summary_path(settings: Settings, video_id: str) -> Path:
    """The file for ``video_id``; raises ``ValueError`` for an id that could escape the folder."""
    if not video_id or "/" in video_id or "\\" in video_id or video_id.startswith("."):
        raise ValueError(f"not a video id: {video_id!r}")
    return summaries_dir(settings) / f"{video_id}.json"


def save_summary(settings: Settings, summary: VideoSummary) -> Path:
    """Write the summary atomically (temporary file, then rename); returns its path."""
    path = summary_path(settings, summary.video_id)
    write_text_atomically(path, json.dumps(summary.to_dict(), ensure_ascii=False, indent=1))
    return path


def load_summary(settings: Settings, video_id: str) -> VideoSummary | None:
    """The stored summary of one video, for the CLI and the bots; None when there is none."""
    path = summary_path(settings, video_id)  # a malformed id is a ValueError for the caller
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return VideoSummary.from_dict(data)


def list_summaries(settings: Settings) -> list[str]:
    """Ids of the videos with a stored summary, sorted."""
    return sorted(p.stem for p in summaries_dir(settings).glob("*.json"))


def summary_documents(video: Video, summary: VideoSummary, embedding_model: str) -> list[Document]:
    """One ``kind=summary`` document: the paragraph (LLM) and each point at its own second."""
    window = [Sentence(p.text, p.start_s, p.end_s) for p in summary.points]
    if summary.method != EXTRACTIVE and summary.summary:
        window.insert(0, Sentence(summary.summary, None, None))
    if not window:
        return []
    return [window_document(video, window, kind=SUMMARY_KIND, index=0, embedding_model=embedding_model)]


# -- extractive -------------------------------------------------------------------------------------


SentenceVectors = Callable[[list[str]], np.ndarray]


def extractive_summary(video: Video, sentences: list[Sentence], embedder: Any, vectors: SentenceVectors | None = None) -> VideoSummary:
    """The most central sentences by embedding, spread over the video, in the order they are said.

    ``vectors`` gives the candidate sentences' unit vectors when indexing already has them (late
    chunking pools them from the chunks' forward passes); without it they are embedded alone.
    """
    candidates = [s for s in sentences if MIN_POINT_WORDS <= len(s.text.split()) <= MAX_POINT_WORDS]
    if len(candidates) < MIN_POINTS:
        candidates = [s for s in sentences if s.text.strip()]
    if len(candidates) > MAX_CANDIDATES:
        step = len(candidates) / MAX_CANDIDATES
        candidates = [candidates[int(i * step)] for i in range(MAX_CANDIDATES)]
    wanted = min(point_count(sentences), len(candidates))
    chosen: list[int] = []
    if candidates:
        texts = [s.text for s in candidates]
        # Embedded alone, through the sentence-vector memo: indexing the same video next reuses them.
        matrix = vectors(texts) if vectors is not None else text_vectors(embedder, texts)
        centroid = matrix.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        centrality = matrix @ centroid
        while len(chosen) < wanted:
            redundancy = (matrix @ matrix[chosen].T).max(axis=1) if chosen else np.zeros(len(candidates))
            score = MMR_LAMBDA * centrality - (1 - MMR_LAMBDA) * redundancy
            score[chosen] = -np.inf
            chosen.append(int(np.argmax(score)))
        top = sorted(chosen[:3])
        paragraph = " ".join(candidates[i].text for i in top)
    else:
        paragraph = ""
    points = [SalientPoint(candidates[i].text, candidates[i].start, candidates[i].end) for i in sorted(chosen)]
    return VideoSummary(video.video_id, video.title, video.url, paragraph, points, EXTRACTIVE)


# -- LLM map-reduce ---------------------------------------------------------------------------------


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object in a reply, tolerating code fences and chatter around it."""
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        raise LLMError("the summary reply contains no JSON object")
    try:
        value = json.loads(match.group(0))
    except json.JSONDecodeError as error:
        raise LLMError(f"the summary reply is not valid JSON ({error.msg})") from None
    except ValueError as error:  # well-formed JSON Python refuses, e.g. an integer past the digit limit
        raise LLMError(f"the summary reply is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise LLMError("the summary reply is not a JSON object")
    return value


def _cached_chat(client: LLMClient, cache: LLMCache | None, messages: list[dict[str, str]], max_tokens: int) -> str:
    key = LLMCache.key(STAGE, client.model, {"v": PROMPT_VERSION, "messages": messages})
    cached = cache.get(STAGE, key) if cache else None
    if cached is not None:
        return str(cached["text"])
    text = client.chat(messages, stage=STAGE, max_tokens=max_tokens, json_mode=True).text
    if cache:
        cache.put(STAGE, key, {"text": text, "model": client.model})
    return text


def sections_of(sentences: list[Sentence], window_words: int) -> list[list[int]]:
    """Consecutive sentence indexes, about ``window_words`` words per section."""
    sections: list[list[int]] = [[]]
    words = 0
    for index, sentence in enumerate(sentences):
        size = len(sentence.text.split())
        if sections[-1] and words + size > window_words:
            sections.append([])
            words = 0
        sections[-1].append(index)
        words += size
    return [s for s in sections if s]


def llm_summary(video: Video, sentences: list[Sentence], client: LLMClient, cache: LLMCache | None, window_words: int) -> VideoSummary:
    """Map-reduce summary; raises :class:`LLMError` when the model's output cannot be used."""
    if not sentences:
        raise LLMError("no sentences to summarize")
    partials: list[str] = []
    candidates: list[int] = []  # sentence index of each candidate point
    candidate_texts: list[str] = []
    for section in sections_of(sentences, window_words):
        numbered = [(i + 1, sentences[i].text) for i in section]
        reply = _json_object(_cached_chat(client, cache, summary_map_messages(video.title, numbered), 700))
        if isinstance(reply.get("summary"), str) and reply["summary"].strip():
            partials.append(reply["summary"].strip())
        allowed = set(section)
        for item in reply.get("points") or []:
            if not isinstance(item, dict) or not isinstance(item.get("point"), str) or not item["point"].strip():
                continue
            number = item.get("sentence")
            if not isinstance(number, (int, float, str)):
                continue
            try:
                index = int(number) - 1
            except ValueError:
                continue
            if index in allowed:  # a point must come from a sentence of this section; invented ones are dropped
                candidates.append(index)
                candidate_texts.append(" ".join(item["point"].split()))
    if not partials or not candidates:
        raise LLMError("the model returned no usable summary or points")
    if len(partials) == 1 and MIN_POINTS <= len(candidates) <= MAX_POINTS:
        paragraph, picked = partials[0], list(range(len(candidates)))
    else:
        numbered_points = [(n + 1, text) for n, text in enumerate(candidate_texts)]
        reply = _json_object(_cached_chat(client, cache, summary_reduce_messages(video.title, partials, numbered_points), 900))
        reduced = reply.get("summary")
        paragraph = reduced if isinstance(reduced, str) else ""
        if not paragraph.strip():
            raise LLMError("the reduce step returned no summary")
        picked = []
        for number in reply.get("points") or []:
            try:
                position = int(number) - 1
            except (TypeError, ValueError):
                continue
            if 0 <= position < len(candidates) and position not in picked:
                picked.append(position)
        picked = picked[:MAX_POINTS]
        # Too few picks (weak models): top up with the remaining candidates, spread over the video.
        rest = [p for p in range(len(candidates)) if p not in picked]
        while len(picked) < MIN_POINTS and rest:
            picked.append(rest.pop(len(rest) // 2 if len(picked) % 2 else 0))
    picked.sort(key=lambda p: candidates[p])
    points = [SalientPoint(candidate_texts[p], sentences[candidates[p]].start, sentences[candidates[p]].end) for p in picked]
    return VideoSummary(video.video_id, video.title, video.url, " ".join(paragraph.split()), points, client.name)


def summarize(
    video: Video,
    sentences: list[Sentence],
    *,
    embedder: Any,
    client: LLMClient | None = None,
    cache: LLMCache | None = None,
    window_words: int = 1000,
    vectors: SentenceVectors | None = None,
) -> VideoSummary:
    """LLM summary when a client is given, else (or when it fails) the extractive one; never raises for LLM trouble."""
    reasons: list[str] = []
    if client is not None:
        try:
            return llm_summary(video, sentences, client, cache, window_words)
        except LLMError as error:
            reasons.append(str(error))
            logger.warning("summary of %s falls back to extractive: %s", video.video_id, error)
    summary = extractive_summary(video, sentences, embedder, vectors)
    summary.reasons = reasons
    return summary
