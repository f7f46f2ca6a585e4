"""Supervised examples for the answer LLM, in exactly the shape :class:`LLMAnswerer` sends at serving time.

Each example is the real query pipeline's top passages for a question, numbered and quoted by
:func:`pipelines.llm.prompts.answer_messages`, and the reply the model should give: an answer that cites
passage numbers, or the exact "not covered" reply when the passages do not answer. Questions come from
the same sources as the retriever's triplets (the lecturer's own questions, restatements, student-style
questions, titles; paraphrased by the configured LLM when there is one). Unanswerable examples are made
two ways: a lecture's question retrieved with that lecture (and its near-copies) taken out of the
results, and off-topic questions. Targets are distilled from a configured teacher LLM when given
(kept only when they pass the answerer's own citation check) and otherwise built from the offline
extractive answer. The split is by lecture: a held-out lecture gives no training example at all.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from pipelines.corpus.chunking import CHUNK_KIND
from pipelines.llm.llm_answerer import CitationRewriter, _leaks_prompt
from pipelines.llm.prompts import ANSWER_SYSTEM, answer_messages
from pipelines.search.calibration import effective_min_relevance
from pipelines.search.embedders import document_embedder
from pipelines.search.offline_answerer import OfflineAnswerer
from pipelines.search.query import build_retrieval_pipeline
from pipelines.settings import Settings
from pipelines.training.triplets.anchors import IdfTable, Paraphraser
from pipelines.training.triplets.mining import _anchors
from pipelines.training.triplets.split import stored_chunks, with_twins

# The reply ANSWER_SYSTEM asks for, word for word, when the passages do not answer.
DECLINE_REPLY = "The lectures don't cover this."
assert DECLINE_REPLY in ANSWER_SYSTEM
TRAIN, HELD_OUT = "train", "heldout"
QUOTE_MAX_WORDS = 45
MAX_TARGET_CITATIONS = 2
OFF_TOPIC = (
    "What is the capital of Australia?",
    "How long should I boil an egg for a soft yolk?",
    "Who won the football world cup in 1998?",
    "Can you recommend a good pizza place nearby?",
    "How do I fix a flat bicycle tyre?",
    "What is the best way to learn to play the guitar?",
    "When does the library open on Sundays?",
    "How many calories are in a banana?",
    "What's the plot of Hamlet?",
    "How do I renew my passport?",
    "What is the tallest mountain in Africa?",
    "How do I get red wine out of a carpet?",
    "Which planet has the most moons?",
    "What time zone is Tokyo in?",
    "How do I train my dog to sit?",
    "What should I wear to a job interview?",
    "Who painted the Mona Lisa?",
    "How do I make sourdough starter?",
    "What is the population of Canada?",
    "How often should I water a cactus?",
    "What are the rules of cricket?",
    "How do I change the oil in my car?",
    "When was the Eiffel Tower built?",
    "What's a good stretching routine after running?",
)


@dataclass
class LlmExample:
    """One supervised example: the serving prompt, the target reply, and what evaluation needs to score a reply.

    ``gold`` are the 1-based numbers of the passages that hold the answer (empty for an unanswerable
    example); ``offline`` is what the offline extractive answerer did with the same passages
    (``declined`` and the passage numbers it ``cited``), the baseline of the answer evaluation.
    """

    question: str
    source: str  # lecture-question | restatement | sentence | definition | title | llm | other-lecture | off-topic
    video_id: str | None  # the lecture the question comes from (None for off-topic)
    split: str  # train | heldout
    answerable: bool
    gold: list[int]
    passages: list[str]  # the passages' text as numbered in the prompt (for faithfulness checks)
    prompt: list[dict[str, str]]
    completion: list[dict[str, str]]
    target_from: str  # offline-extractive | llm:<model>
    offline: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """The reply the model is trained to give."""
        return self.completion[0]["content"]


@dataclass
class BuildReport:
    """The examples and why candidates were dropped."""

    examples: list[LlmExample] = field(default_factory=list)
    held_out_videos: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one dropped candidate under ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def counts(self) -> dict[str, int]:
        """Examples per split and kind, for the command's summary line and the model card."""
        out: dict[str, int] = {}
        for example in self.examples:
            key = f"{example.split}_{'answerable' if example.answerable else 'unanswerable'}"
            out[key] = out.get(key, 0) + 1
        return out


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def held_out_lectures(videos: Iterable[str], share: float, given: Iterable[str] = ()) -> set[str]:
    """``given`` plus the first ``share`` of lectures by hash of their id (at least one when there are two or more).

    By hash, not by order: the same lecture is held out wherever the course is installed and
    whatever else is added later keeps its side unless the share changes.
    """
    ordered = sorted(set(videos), key=_digest)
    held = set(given)
    if share > 0 and len(ordered) >= 2:
        held.update(ordered[: max(1, round(share * len(ordered)))])
    return held


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def passage_number(passages: Sequence[Document], video_id: str, quote: str) -> int | None:
    """The 1-based number of the passage of ``video_id`` that contains ``quote`` (by its first words), if any."""
    head = " ".join(_norm(quote).split()[:8])
    for number, document in enumerate(passages, start=1):
        if str(document.meta.get("video_id")) == video_id and head and head in _norm(document.content or ""):
            return number
    return None


def extractive_target(citations: Sequence[tuple[int, str]]) -> str:
    """The deterministic target: each cited quote (cut to a sentence-sized piece) followed by its passage number."""
    parts = []
    for number, quote in citations[:MAX_TARGET_CITATIONS]:
        words = quote.split()
        text = " ".join(words[:QUOTE_MAX_WORDS]).rstrip(" .,;:!?")
        parts.append(f"{text} [{number}].")
    return " ".join(parts)


def check_reply(text: str, passages: int) -> tuple[list[int], bool]:
    """The answerer's citation check on a raw reply: the passage numbers it cites (1-based, in order) and whether it is valid.

    Valid means it invents no passage number and does not leak the system prompt, exactly the
    conditions under which :class:`LLMAnswerer` would keep it (an answer citing nothing declines).
    """
    rewriter = CitationRewriter(passages)
    rewriter.feed(text)
    rewriter.finish()
    return [p + 1 for p in rewriter.order], not rewriter.invented and not _leaks_prompt(text)


class ExampleBuilder:
    """Runs questions through the real retrieval pipeline and the offline answerer and turns them into examples."""

    def __init__(self, settings: Settings, bundle: Any, teacher: Any = None, max_tokens: int = 256) -> None:
        self.settings = settings
        self.pipeline = build_retrieval_pipeline(settings, bundle, "hybrid")
        self.offline = OfflineAnswerer(
            embedder=document_embedder(settings, with_title=False), min_relevance=effective_min_relevance(settings), store_name=bundle.name
        )
        self.teacher = teacher
        self.max_tokens = max_tokens
        self.ranked_source = next(source for source, _ in self.pipeline.graph.in_edges("diversity"))

    def warm_up(self) -> None:
        """Load the embedding models once."""
        self.pipeline.warm_up()
        self.offline.warm_up()

    def retrieve(self, question: str, exclude: set[str]) -> tuple[list[float], list[Document], list[Document]]:
        """The query embedding, the ranked top documents and the deeper ranked list, minus lectures in ``exclude``."""
        data: dict[str, Any] = {"text_embedder": {"text": question}}
        if "bm25_retriever" in self.pipeline.graph.nodes:
            data["bm25_retriever"] = {"query": question}
        if "reranker" in self.pipeline.graph.nodes:
            data["reranker"] = {"query": question}
        output = self.pipeline.run(data, include_outputs_from={"text_embedder", self.ranked_source})
        documents = [d for d in output["diversity"]["documents"] if str(d.meta.get("video_id")) not in exclude]
        deeper = [d for d in output[self.ranked_source]["documents"] if str(d.meta.get("video_id")) not in exclude]
        if exclude:  # the cap per video still holds; fill the freed places from deeper in the ranking
            per_video: dict[str, int] = {}
            for d in documents:
                per_video[str(d.meta.get("video_id"))] = per_video.get(str(d.meta.get("video_id")), 0) + 1
            for d in deeper:
                if len(documents) >= self.settings.top_k:
                    break
                video = str(d.meta.get("video_id"))
                if d not in documents and per_video.get(video, 0) < self.settings.max_chunks_per_video:
                    documents.append(d)
                    per_video[video] = per_video.get(video, 0) + 1
        return output["text_embedder"]["embedding"], documents, deeper

    def example(
        self, question: str, source: str, video_id: str | None, chunk_id: str | None, split: str, exclude: set[str]
    ) -> LlmExample | str:
        """One example for ``question``, or the reason it was dropped."""
        embedding, documents, deeper = self.retrieve(question, exclude)
        # What LLMAnswerer numbers: the ranked documents with text, up to its max_passages (top_k at serving).
        passages = [d for d in documents if (d.content or "").strip()][: self.settings.top_k]
        if not passages:
            return "no passages"
        answer = self.offline.run(question=question, query_embedding=embedding, documents=documents, passages=deeper)["answer"]
        offline_cited = [n for c in answer.citations if (n := passage_number(passages, c.video_id, c.quote)) is not None]
        offline = {"declined": not answer.grounded, "cited": sorted(set(offline_cited))}
        answerable = bool(video_id) and not exclude
        gold: list[int] = []
        if answerable:
            own = [n for n, d in enumerate(passages, start=1) if str(d.meta.get("video_id")) == video_id]
            if not own:
                return "source lecture not retrieved"
            exact = [n for n in own if passages[n - 1].id == chunk_id]
            gold = exact or own
        messages = answer_messages(
            question, [(str(d.meta.get("title") or d.meta.get("video_id")), d.meta.get("start_s"), d.content or "") for d in passages], []
        )
        target, target_from = self._teacher_target(messages, len(passages), gold, answerable)
        if target is None:
            if not answerable:
                target = DECLINE_REPLY
            else:
                pairs = [(n, c.quote) for c in answer.citations if (n := passage_number(passages, c.video_id, c.quote)) is not None]
                if not answer.grounded or not any(n in gold for n, _ in pairs):
                    return "offline answer cites no gold passage"
                unique: dict[int, str] = {}
                for n, q in sorted(pairs, key=lambda p: p[0] not in gold):  # a gold passage first
                    unique.setdefault(n, q)
                pairs = list(unique.items())
                target = extractive_target(pairs)
            target_from = "offline-extractive"
        return LlmExample(
            question=question,
            source=source,
            video_id=video_id,
            split=split,
            answerable=answerable,
            gold=gold,
            passages=[d.content or "" for d in passages],
            prompt=messages,
            completion=[{"role": "assistant", "content": target}],
            target_from=target_from,
            offline=offline,
        )

    def _teacher_target(self, messages: list[dict[str, str]], passages: int, gold: list[int], answerable: bool) -> tuple[str | None, str]:
        """The teacher's reply when it passes the citation check for this kind of example; (None, reason) otherwise."""
        if self.teacher is None:
            return None, ""
        from pipelines.llm.client import LLMError

        try:
            reply = self.teacher.chat(messages, stage="distill", max_tokens=self.max_tokens).text.strip()
        except LLMError:
            return None, ""
        cited, valid = check_reply(reply, passages)
        if not valid:
            return None, ""
        if answerable and any(n in gold for n in cited):
            return reply, self.teacher.name
        if not answerable and not cited:
            return DECLINE_REPLY, self.teacher.name
        return None, ""


def build_examples(
    settings: Settings,
    bundle: Any,
    *,
    held_out_share: float = 0.2,
    held_out: Iterable[str] = (),
    max_examples: int = 400,
    unanswerable_share: float = 0.3,
    seed: int = 0,
    paraphraser: Paraphraser | None = None,
    teacher: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Up to ``max_examples`` examples over the whole course, about ``unanswerable_share`` of them unanswerable.

    Questions are taken round-robin over lectures (so every lecture, held out or not, contributes in
    proportion), in an order fixed by ``seed``.
    """
    chunks = [d for d in stored_chunks(bundle) if d.meta.get("kind", CHUNK_KIND) == CHUNK_KIND and d.content]
    chunks.sort(key=lambda d: (str(d.meta["video_id"]), int(d.meta.get("chunk_index", 0))))
    report = BuildReport()
    if not chunks:
        return report
    videos = [str(d.meta["video_id"]) for d in chunks]
    held = held_out_lectures(videos, held_out_share, held_out)
    vectors: np.ndarray | None = None
    if all(d.embedding is not None for d in chunks):  # a held-out lecture's near-copies are held out too
        vectors = np.asarray([d.embedding for d in chunks], dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        held = with_twins(held, np.asarray(videos), vectors)
    report.held_out_videos = sorted(held)
    idf = IdfTable(d.content or "" for d in chunks)
    anchors = _anchors(chunks, idf, 1, paraphraser)
    rng = random.Random(seed)
    by_video: dict[str, list[Any]] = {}
    for anchor in anchors:
        by_video.setdefault(videos[anchor.chunk], []).append(anchor)
    for group in by_video.values():
        rng.shuffle(group)
    ordered: list[Any] = []
    while any(by_video.values()):
        for video in sorted(by_video, key=_digest):
            if by_video[video]:
                ordered.append(by_video[video].pop())
    unanswerable_every = max(2, round(1 / unanswerable_share)) if unanswerable_share > 0 else 0
    builder = ExampleBuilder(settings, bundle, teacher)
    builder.warm_up()
    off_topic = list(OFF_TOPIC)
    rng.shuffle(off_topic)
    for tried, anchor in enumerate(ordered, start=1):
        if len(report.examples) >= max_examples:
            break
        video = videos[anchor.chunk]
        split = HELD_OUT if video in held else TRAIN
        kind = tried % unanswerable_every == 0 if unanswerable_every else False
        if kind and off_topic and tried % (2 * unanswerable_every) == 0:
            made = builder.example(off_topic.pop(), "off-topic", None, None, split, set())
        elif kind and anchor.source != "title":
            twins = with_twins({video}, np.asarray(videos), vectors) if vectors is not None else {video}
            made = builder.example(anchor.text, "other-lecture", video, None, split, twins)
        else:
            made = builder.example(anchor.text, anchor.source, video, chunks[anchor.chunk].id, split, set())
        if isinstance(made, str):
            report.skip(made)
        else:
            report.examples.append(made)
        if progress:
            progress(len(report.examples), max_examples)
    return report


def write_examples(examples: Sequence[LlmExample], path: Path) -> None:
    """One JSON object per line; ``prompt``/``completion`` are the conversational prompt-completion shape TRL trains on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")


def read_examples(path: Path) -> list[LlmExample]:
    """The examples of a file written by :func:`write_examples`; ValueError names the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; expected the JSONL written by `course-ta llm-data`") from None
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    examples = []
    names = set(LlmExample.__dataclass_fields__)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not {"prompt", "completion", "split", "gold"} <= set(data):
                raise ValueError("missing prompt/completion/split/gold")
            examples.append(LlmExample(**{k: v for k, v in data.items() if k in names}))
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path.name} line {number}: not an example of `course-ta llm-data` ({error})") from None
    if not examples:
        raise ValueError(f"{path.name}: no examples")
    return examples
