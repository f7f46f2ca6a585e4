"""Hard-negative mining: for each anchor, the passage of *another* lecture that looks most like an answer.

Easy negatives teach nothing; the useful ones are passages BM25 or the current embedding model
rank high for the anchor but that come from a different video. Two filters keep false negatives
out: a candidate too similar to the positive (a near-duplicate, e.g. the PyTorch and TensorFlow
versions of the same lesson) is skipped, and so is one the base model scores almost as high as
the positive (it probably answers the anchor too). Held-out videos are skipped everywhere, so the
evaluation lectures are never seen in training, not even as negatives.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence, Set
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import numpy as np
from haystack import Document

from pipelines.corpus.chunking import CHUNK_KIND
from pipelines.search.offline_answerer import chunk_sentences
from pipelines.training.triplets.anchors import (
    IdfTable,
    Paraphraser,
    lecture_question,
    question_from_sentence,
    question_from_title,
    restatement,
    salience,
    words,
)
from pipelines.training.triplets.split import with_twins

MIN_WORDS, MAX_WORDS = 8, 45
NEAR_DUPLICATE = 0.85  # cosine(candidate, positive) at or above this: same content, never a negative
RELATIVE_MARGIN = 0.05  # candidate must score below (1 - margin) * positive score for the anchor
CANDIDATES = 30


@dataclass(frozen=True)
class Triplet:
    """An anchor question, a passage that answers it and a hard negative from another lecture, with their origins."""

    anchor: str
    positive: str
    negative: str
    video_id: str  # the positive's video
    negative_video_id: str
    source: str  # restatement | lecture-question | sentence | definition | title | llm
    positive_chunk: str = ""  # id of the positive's chunk (the positive text may lack the anchor sentence)


@dataclass
class MiningReport:
    """The mined triplets and what was dropped on the way (duplicate anchors, anchors without a usable negative)."""

    triplets: list[Triplet] = field(default_factory=list)
    anchors: int = 0
    no_negative: int = 0
    duplicates: int = 0
    held_out_videos: list[str] = field(default_factory=list)

    @property
    def train_videos(self) -> int:
        """How many distinct videos the triplets' positives come from."""
        return len({t.video_id for t in self.triplets})


def passage_text(document: Document, content: str | None = None) -> str:
    """What the index embeds for a chunk (title first, see ``pipelines.search.embedders``), so training matches serving.

    ``content`` replaces the chunk's text (an inverse-cloze positive is the chunk minus one sentence).
    """
    title = document.meta.get("title")
    text = document.content if content is None else content
    return f"{title}. {text}" if title else (text or "")


# Under the per-video cap, the anchors closest to how students ask come first: titles and the
# lecturer's own questions, then definitions, LLM paraphrases, restatements, keyword questions.
SOURCE_PRIORITY = {"title": 0, "lecture-question": 1, "definition": 2, "llm": 3, "restatement": 4, "sentence": 5}
KEEP_SENTENCE_ONE_IN = 10  # inverse cloze: the anchor sentence stays in its positive one time in ten (Lee et al., 2019)


@dataclass(frozen=True)
class _Anchor:
    text: str
    chunk: int  # index of the positive chunk
    source: str
    removed: str | None = None  # sentence cut out of the positive (restatements and lecture questions)


def _place(document: Document) -> str:
    """A chunk's place in the course (video and chunk number), the seed for its random choices.

    Not its id: ids include the embedding model's path, and the same course must give the same
    triplets wherever it is installed.
    """
    return f"{document.meta.get('video_id')}:{document.meta.get('chunk_index')}"


def _cut(document: Document, sentence: str | None) -> str:
    """The positive passage: the chunk as indexed, minus ``sentence`` when the anchor *is* that sentence."""
    if sentence is None:
        return passage_text(document)
    digest = hashlib.sha256(f"{_place(document)}:{sentence}".encode()).digest()
    if digest[0] % KEEP_SENTENCE_ONE_IN == 0:
        return passage_text(document)
    return passage_text(document, " ".join((document.content or "").replace(sentence, " ", 1).split()))


def _anchors(documents: list[Document], idf: IdfTable, per_chunk: int, paraphraser: Paraphraser | None) -> list[_Anchor]:
    """Every usable anchor: per chunk, a restatement of its most salient sentence (inverse cloze), up to
    ``per_chunk`` student-style questions from the next ones, and a question the lecturer asks there;
    plus one title question per video."""
    anchors: list[_Anchor] = []
    first_chunk: dict[str, int] = {}
    topics: dict[str, Counter[str]] = {}
    for document in documents:
        topics.setdefault(str(document.meta["video_id"]), Counter()).update(words(document.content or ""))
    for index, document in enumerate(documents):
        first_chunk.setdefault(str(document.meta["video_id"]), index)
        spoken = [s for s, _, _ in chunk_sentences(document)]
        for sentence in spoken:
            question = lecture_question(sentence, idf)
            if question:
                anchors.append(_Anchor(question, index, "lecture-question", sentence))
                break
        sentences = [s for s in spoken if MIN_WORDS <= len(s.split()) <= MAX_WORDS and not s.rstrip().endswith("?")]
        ranked = sorted(sentences, key=lambda s: salience(s, idf), reverse=True)
        if ranked and (stated := restatement(ranked[0], idf)):
            anchors.append(_Anchor(stated, index, "restatement", ranked[0]))
            ranked = ranked[1:]
        made = 0
        for sentence in ranked:
            if made >= per_chunk:
                break
            question = paraphraser(sentence, str(document.meta.get("title") or "")) if paraphraser else None
            source = "llm" if question else "sentence"
            if question is None:
                question = question_from_sentence(sentence, idf, f"{_place(document)}:{made}", topics[str(document.meta["video_id"])])
                source = "definition" if question and question.startswith(("what is", "what exactly", "can you define")) else source
            if question:
                anchors.append(_Anchor(question, index, source))
                made += 1
    for video, index in first_chunk.items():
        question = question_from_title(str(documents[index].meta.get("title") or ""), video)
        if question:
            anchors.append(_Anchor(question, index, "title"))
    return anchors


def mine_triplets(
    documents: Sequence[Document],
    embed: Callable[[list[str]], np.ndarray],
    *,
    held_out: Set[str] = frozenset(),
    per_chunk: int = 1,
    max_per_video: int = 40,
    seed: int = 0,
    paraphraser: Paraphraser | None = None,
) -> MiningReport:
    """Triplets from the indexed chunks; ``embed`` returns L2-normalised vectors for texts.

    The index's own vectors are used when the documents carry them (no re-embedding of the corpus);
    anchors are always embedded with ``embed``.
    """
    every_chunk = [d for d in documents if d.meta.get("kind", CHUNK_KIND) == CHUNK_KIND and d.content]
    if not every_chunk:
        return MiningReport(held_out_videos=sorted(held_out))
    every_chunk.sort(key=lambda d: (str(d.meta["video_id"]), int(d.meta.get("chunk_index", 0))))
    if all(d.embedding is not None for d in every_chunk):
        vectors = np.asarray([d.embedding for d in every_chunk], dtype=np.float32)
    else:  # a store that does not hand back vectors: embed the passages as the index did
        vectors = np.asarray(embed([passage_text(d) for d in every_chunk]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    every_video = np.asarray([str(d.meta["video_id"]) for d in every_chunk])
    held_out = with_twins(set(held_out), every_video, vectors)
    report = MiningReport(held_out_videos=sorted(held_out))
    kept = ~np.isin(every_video, sorted(held_out))
    chunks = [d for d, keep in zip(every_chunk, kept, strict=True) if keep]
    if not chunks:
        return report
    matrix, videos = vectors[kept], every_video[kept]
    idf = IdfTable(d.content or "" for d in chunks)

    anchors = _anchors(chunks, idf, per_chunk, paraphraser)
    rng = random.Random(seed)
    by_video: dict[str, list[_Anchor]] = {}
    for anchor in anchors:
        by_video.setdefault(str(videos[anchor.chunk]), []).append(anchor)
    anchors = []
    for video in sorted(by_video):
        group = by_video[video]
        rng.shuffle(group)
        group.sort(key=lambda a: SOURCE_PRIORITY.get(a.source, len(SOURCE_PRIORITY)))  # stable: shuffled within a source
        anchors.extend(group[:max_per_video])
    report.anchors = len(anchors)
    if not anchors:
        return report

    anchor_vectors = embed([a.text for a in anchors])
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([passage_text(d) for d in chunks], stopwords="en", show_progress=False), show_progress=False)
    bm25_rows, _ = retriever.retrieve(
        bm25s.tokenize([a.text for a in anchors], stopwords="en", show_progress=False), k=min(CANDIDATES, len(chunks)), show_progress=False
    )
    seen: set[str] = set()
    for anchor, vector, lexical in zip(anchors, anchor_vectors, bm25_rows, strict=True):
        positive_index = anchor.chunk
        key = " ".join(anchor.text.lower().split())
        if key in seen:
            report.duplicates += 1
            continue
        dense_scores = matrix @ vector
        dense_rows = np.argsort(-dense_scores)[:CANDIDATES]
        negative = _hard_negative(positive_index, [int(r) for r in lexical], [int(r) for r in dense_rows], dense_scores, matrix, videos)
        if negative is None:
            report.no_negative += 1
            continue
        seen.add(key)
        positive = chunks[positive_index]
        report.triplets.append(
            Triplet(
                anchor.text,
                _cut(positive, anchor.removed),
                passage_text(chunks[negative]),
                str(videos[positive_index]),
                str(videos[negative]),
                anchor.source,
                str(positive.id),
            )
        )
    return report


def _hard_negative(
    positive: int, lexical: list[int], dense: list[int], scores: np.ndarray, matrix: np.ndarray, videos: np.ndarray
) -> int | None:
    """The best-ranked candidate (reciprocal rank over BM25 and dense) that passes both false-negative filters."""
    fused: dict[int, float] = {}
    for ranking in (lexical, dense):
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + 1.0 / (60 + rank)
    ceiling = (1 - RELATIVE_MARGIN) * float(scores[positive])
    for row in sorted(fused, key=lambda candidate: fused[candidate], reverse=True):
        if videos[row] == videos[positive]:
            continue
        if float(matrix[row] @ matrix[positive]) >= NEAR_DUPLICATE or float(scores[row]) >= ceiling:
            continue
        return row
    return None


def write_triplets(triplets: Sequence[Triplet], path: Path) -> None:
    """One JSON object per line (parent folders created), as ``read_triplets`` reads them back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for triplet in triplets:
            handle.write(json.dumps(asdict(triplet), ensure_ascii=False) + "\n")


def read_triplets(path: Path) -> list[Triplet]:
    """Triplets written by ``write_triplets``; a bad line fails with its number."""
    triplets = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                triplets.append(Triplet(**{k: data[k] for k in Triplet.__dataclass_fields__ if k in data or k != "positive_chunk"}))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a triplet ({error})") from None
    return triplets
