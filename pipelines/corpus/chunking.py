"""Sentence-aligned, overlapping windows of a transcript, as Haystack Documents with DESIGN.md meta.

A chunk never cuts a sentence, so the offline answerer can quote whole sentences, and it keeps
each sentence's start time so a citation jumps to the sentence, not to the start of the chunk.
Ids hash everything that would change the stored document (text, timing, titles, model), so
re-indexing identical input produces identical ids and writes nothing.
"""

from __future__ import annotations

import hashlib
import json

from haystack import Document

from pipelines.corpus.sentences import join_with_offsets
from pipelines.domain import Sentence, Video

CHUNK_KIND = "chunk"
SUMMARY_KIND = "summary"


def chunk_sentences(sentences: list[Sentence], chunk_words: int, overlap_words: int) -> list[list[Sentence]]:
    """Greedy windows of about ``chunk_words`` words; the next window repeats the last
    ``overlap_words`` words' worth of whole sentences so an idea split across windows is kept whole."""
    windows: list[list[Sentence]] = []
    sizes = [len(s.text.split()) for s in sentences]
    start = 0
    while start < len(sentences):
        end = start
        words = 0
        while end < len(sentences) and (words == 0 or words + sizes[end] <= chunk_words):
            words += sizes[end]
            end += 1
        windows.append(sentences[start:end])
        if end >= len(sentences):
            break
        back = end
        overlap = 0
        while back - 1 > start and overlap + sizes[back - 1] <= overlap_words:
            back -= 1
            overlap += sizes[back]
        start = back if back > start else end
    return windows


def chunk_documents(
    video: Video,
    sentences: list[Sentence],
    *,
    chunk_words: int,
    overlap_words: int,
    embedding_model: str,
) -> list[Document]:
    """A video's sentences as chunk Documents, numbered in order, with content-hash ids."""
    documents = []
    for index, window in enumerate(chunk_sentences(sentences, chunk_words, overlap_words)):
        documents.append(window_document(video, window, kind=CHUNK_KIND, index=index, embedding_model=embedding_model))
    return documents


def window_document(video: Video, window: list[Sentence], *, kind: str, index: int, embedding_model: str) -> Document:
    """One Document of whole sentences, with each sentence's offset, start and end in meta for citations."""
    text, offsets = join_with_offsets([s.text for s in window])
    starts = [s.start for s in window]
    ends = [s.end for s in window]
    known_starts = [t for t in starts if t is not None]
    known_ends = [t for t in ends if t is not None]
    meta = {
        "video_id": video.video_id,
        "title": video.title,
        "url": video.url,
        "start_s": min(known_starts) if known_starts else None,
        "end_s": max(known_ends) if known_ends else None,
        "kind": kind,
        "source": video.source,
        "chunk_index": index,
        "sentence_offsets": offsets,
        "sentence_starts": starts,
        "sentence_ends": ends,
    }
    return Document(id=document_id(text, meta, embedding_model), content=text, meta=meta)


def document_id(text: str, meta: dict, embedding_model: str) -> str:
    """A hash of everything that shapes the stored document, so unchanged input keeps its id and is not re-embedded."""
    payload = json.dumps({"text": text, "meta": meta, "model": embedding_model}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
