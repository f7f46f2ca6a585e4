"""The Haystack generator step after retrieval: an LLM writes the answer, citations stay exact.

Why our own ``@component`` around :class:`~pipelines.llm.client.LLMClient` rather than Haystack's
``OpenAIChatGenerator``: the answer step needs more than a generator. It holds an
:class:`OfflineAnswerer` whose answer it returns on *any* LLM failure; it rewrites citation markers
while streaming (so the text a student sees streaming is the final text); it maps passage numbers
back to the sentence and second they come from; and it shares one client with the repunctuation
and summary stages (the same timeouts, retries, usage log and secret handling). A per-call
streaming callback is a run input, so one pipeline serves many threads at once.

The prompt gives the retrieved chunks as numbered, quoted data. Numbers the model cites that do
not exist are dropped; an answer that cites nothing, or that repeats our system prompt, is treated
as ungrounded and replaced by the "not covered" answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from haystack import Document, component, default_to_dict

from pipelines.courses.hints import HINT_RULE, withhold_solution
from pipelines.domain import Answer, Citation, Turn, deep_link
from pipelines.llm.client import LLMClient, LLMError
from pipelines.llm.prompts import ANSWER_SYSTEM, answer_messages, quote_data
from pipelines.search.offline_answerer import OfflineAnswerer, chunk_sentences

logger = logging.getLogger(__name__)

STAGE = "answer"
NOT_COVERED = "The lectures don't seem to cover that, so I won't guess."
_MARKER = re.compile(
    r"\[\s*(?:(?:passages?|sources?)\s*)?(\d{1,3}(?:\s*(?:,|;|and|&)\s*(?:(?:passages?|sources?)\s*)?\d{1,3})*)\s*\]", re.I
)
_MAX_MARKER = 40
QUOTE_MIN_WORDS = 10


class StreamSink:
    """Wraps a text callback so Haystack's deep copy of run inputs passes the very same callback."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback

    def __call__(self, text: str) -> None:
        """Pass ``text`` on; empty deltas are not."""
        if text:
            self.callback(text)

    def __deepcopy__(self, memo: dict[int, Any]) -> StreamSink:
        return self


class CitationRewriter:
    """Renumbers ``[n]`` markers in order of first citation and drops numbers that name no passage.

    Works on a stream: text is held back only while it might be the inside of a marker.
    """

    def __init__(self, passages: int) -> None:
        self.passages = passages
        self.order: list[int] = []  # passage indexes (0-based) in the order they are first cited
        self.invented: list[int] = []
        self._pending = ""

    def _marker(self, match: re.Match[str]) -> str:
        numbers: list[int] = []
        for raw in re.findall(r"\d+", match.group(1)):
            passage = int(raw) - 1
            if not 0 <= passage < self.passages:
                self.invented.append(int(raw))
                continue
            if passage not in self.order:
                self.order.append(passage)
            number = self.order.index(passage) + 1
            if number not in numbers:
                numbers.append(number)
        return "".join(f"[{n}]" for n in numbers)

    def feed(self, delta: str) -> str:
        """The rewritten text that is final so far; a possible marker's start is held back for the next delta."""
        self._pending += delta
        out: list[str] = []
        while self._pending:
            start = self._pending.find("[")
            if start < 0:  # a trailing space waits: the next delta may open a marker that is dropped
                keep = 1 if self._pending.endswith(" ") else 0
                out.append(self._pending[: len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep :]
                break
            # The space before a marker is held with it: a dropped marker takes its space along.
            lead_start = start - 1 if start > 0 and self._pending[start - 1] == " " else start
            out.append(self._pending[:lead_start])
            lead, rest = self._pending[lead_start:start], self._pending[start:]
            end = rest.find("]")
            if end < 0:
                if len(rest) <= _MAX_MARKER:
                    self._pending = lead + rest  # might still become a marker
                    break
                out.append(lead + "[")
                self._pending = rest[1:]
                continue
            match = _MARKER.fullmatch(rest[: end + 1])
            if match:
                marker = self._marker(match)
                out.append(lead + marker if marker else "")
                self._pending = rest[end + 1 :]
            else:
                out.append(lead + "[")
                self._pending = rest[1:]
        return "".join(out)

    def finish(self) -> str:
        """Whatever was held back, as is: the reply ended, so it was no marker."""
        rest, self._pending = self._pending, ""
        return rest


def _tidy(text: str) -> str:
    """Spaces left where invented markers were removed."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _leaks_prompt(text: str) -> bool:
    """True when the reply repeats a sentence of our system prompt (a prompt-extraction attempt)."""
    flat = " ".join(text.lower().split())
    return any(
        len(piece) >= 30 and piece in flat for piece in (" ".join(p.lower().split()) for p in re.split(r"(?<=[.:])\s+", ANSWER_SYSTEM))
    )


@component
class LLMAnswerer:
    """Grounded generative answers; any LLM failure returns the offline answer instead."""

    def __init__(self, offline: OfflineAnswerer, client: LLMClient, max_passages: int = 5, max_tokens: int = 512) -> None:
        self.offline = offline
        self.client = client
        self.max_passages = max_passages
        self.max_tokens = max_tokens

    def warm_up(self) -> None:
        """Load the offline answerer's models (the fallback and the citation sentence matching use them)."""
        self.offline.warm_up()

    @component.output_types(answer=Answer)
    def run(
        self,
        question: str,
        query_embedding: list[float],
        documents: list[Document],
        passages: list[Document] | None = None,
        history: list[Turn] | None = None,
        on_text: Callable[[str], None] | None = None,
        hint_topic: str | None = None,
    ) -> dict[str, Answer]:
        """Answer from the top passages, streaming the rewritten text to ``on_text``.

        Any LLM failure returns the offline answer; a reply that cites no passage or leaks the
        system prompt becomes the "not covered" answer. With ``hint_topic`` (a graded assignment of
        a course in hint mode) the model is told not to solve it and any solution it writes anyway
        is withheld; such answers are not streamed, so a withheld solution is never shown.
        """
        if hint_topic:
            on_text = None
        fallback: Answer = self.offline.run(question=question, query_embedding=query_embedding, documents=documents, passages=passages)[
            "answer"
        ]
        passages = [d for d in documents if (d.content or "").strip()][: self.max_passages]
        if not passages:
            return {"answer": fallback}
        rewriter = CitationRewriter(len(passages))
        stream: Callable[[str], None] | None = None
        if on_text is not None:

            def stream(delta: str) -> None:
                piece = rewriter.feed(delta)
                if piece:
                    on_text(piece)

        messages = answer_messages(
            question,
            [(str(d.meta.get("title") or d.meta.get("video_id")), d.meta.get("start_s"), d.content or "") for d in passages],
            history or [],
            HINT_RULE.format(topic=quote_data(hint_topic)) if hint_topic else "",
        )
        try:
            reply = self.client.chat(messages, stage=STAGE, max_tokens=self.max_tokens, on_text=stream)
        except LLMError as error:
            logger.warning("LLM answer failed, using the offline answer: %s", error)
            return {"answer": fallback}
        if on_text is not None:
            tail = rewriter.finish()
            if tail:
                on_text(tail)
        # The final text is rebuilt from the whole reply: the same input gives the same numbering.
        rewriter = CitationRewriter(len(passages))
        text = _tidy(rewriter.feed(reply.text) + rewriter.finish())
        if rewriter.invented:
            logger.info("dropped invented citation numbers %s (only %d passages)", rewriter.invented, len(passages))
        if not rewriter.order or _leaks_prompt(text):
            reason = "leaked its instructions" if rewriter.order else "cited no passage"
            logger.info("LLM answer treated as ungrounded: it %s", reason)
            declined = Answer(question, NOT_COVERED, False, [], self.offline.store_name, self.client.name)
            return {"answer": self.offline.with_query(declined, query_embedding)}
        if hint_topic:
            text, withheld = withhold_solution(text)
            if withheld:
                logger.info("hint mode withheld a solution for %s", hint_topic)
        citations = self._citations(text, [passages[i] for i in rewriter.order])
        answer = Answer(question, text, True, citations, self.offline.store_name, self.client.name)
        return {"answer": self.offline.with_query(answer, query_embedding)}

    def _citations(self, text: str, cited: list[Document]) -> list[Citation]:
        """For each cited chunk, the sentence that best supports the claims citing it, and its second."""
        claims = [piece for piece in re.split(r"(?<=[.!?])\s+", text) if piece.strip()]
        per_passage: list[str] = []
        for number in range(1, len(cited) + 1):
            citing = [c for c in claims if f"[{number}]" in c]
            per_passage.append(re.sub(r"\[\d+\]", "", " ".join(citing) or text))
        sentences = [chunk_sentences(d) for d in cited]
        flat = [s[0] for group in sentences for s in group]
        embedded = self.offline.embedder.run(documents=[Document(content=t) for t in per_passage + flat])["documents"]
        matrix = np.asarray([d.embedding for d in embedded], dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
        claim_vectors, sentence_vectors = matrix[: len(per_passage)], matrix[len(per_passage) :]
        citations: list[Citation] = []
        offset = 0
        for position, (document, group) in enumerate(zip(cited, sentences, strict=True)):
            if not group:
                continue
            scores = sentence_vectors[offset : offset + len(group)] @ claim_vectors[position]
            offset += len(group)
            best = int(np.argmax(scores))
            last = best
            while last + 1 < len(group) and len(" ".join(s[0] for s in group[best : last + 1]).split()) < QUOTE_MIN_WORDS:
                last += 1
            meta = document.meta
            start_s, end_s = group[best][1], group[last][2]
            citations.append(
                Citation(
                    video_id=str(meta.get("video_id")),
                    title=str(meta.get("title") or meta.get("video_id")),
                    url=deep_link(str(meta.get("url") or ""), start_s),
                    start_s=start_s,
                    end_s=end_s,
                    score=round(float(scores[best]), 4),
                    quote=" ".join(s[0] for s in group[best : last + 1]),
                )
            )
        return citations

    def to_dict(self) -> dict[str, Any]:
        """Serialize for a Haystack pipeline file; the API key is left out (:meth:`from_dict` reads the settings)."""
        return default_to_dict(
            self, offline=self.offline.to_dict(), model=self.client.model, max_passages=self.max_passages, max_tokens=self.max_tokens
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMAnswerer:
        """Rebuilt from the current settings: the API key is never part of a serialized pipeline."""
        from pipelines.settings import load_settings

        params = dict(data["init_parameters"])
        offline = OfflineAnswerer.from_dict(params["offline"])
        settings = load_settings()
        return cls(offline, LLMClient(settings, budget=False), params.get("max_passages", 5), params.get("max_tokens", 512))
