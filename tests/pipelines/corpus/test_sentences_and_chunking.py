"""Timed sentences and sentence-aligned chunks keep the second each sentence starts."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from pipelines.corpus.chunking import chunk_documents, chunk_sentences
from pipelines.corpus.sentences import segments_to_sentences
from pipelines.corpus.transcripts import read_transcript
from pipelines.domain import Segment, Sentence, Video, Word
from pipelines.search.offline_answerer import chunk_sentences as sentences_of_chunk

VIDEO = Video("vid123", "Backprop", "https://www.youtube.com/watch?v=vid123", "course")


def test_sentence_start_is_inside_the_cue_where_it_begins() -> None:
    # One cue holds the end of one sentence and the start of the next, as captions cut by width do.
    segments = [
        Segment("We define the loss. Then we", 10.0, 14.0),
        Segment("compute the gradient of every weight.", 14.0, 18.0),
    ]
    sentences = segments_to_sentences(segments)
    assert [s.text for s in sentences] == ["We define the loss.", "Then we compute the gradient of every weight."]
    assert sentences[0].start == 10.0
    assert 12.0 < sentences[1].start < 14.0  # interpolated inside the first cue, not at 10.0 or 14.0
    assert sentences[1].end == 18.0


def test_whisper_word_times_are_used_exactly() -> None:
    words = (Word("Hello.", 1.0, 1.4), Word("Gradients", 2.25, 2.8), Word("flow.", 2.9, 3.3))
    sentences = segments_to_sentences([Segment("Hello. Gradients flow.", 1.0, 3.3, words)])
    assert [(s.text, s.start, s.end) for s in sentences] == [("Hello.", 1.0, 1.4), ("Gradients flow.", 2.25, 3.3)]


def test_unpunctuated_speech_still_gets_sentence_sized_pieces(seeds: Path) -> None:
    transcript = read_transcript(seeds / "project-brief-lecture.txt")
    sentences = segments_to_sentences(transcript.segments)
    sizes = [len(s.text.split()) for s in sentences]
    assert len(sentences) > 150
    assert max(sizes) <= 45


def test_unpunctuated_cues_split_at_pauses_and_markers() -> None:
    words = "okay so the first thing we do is load the data and look at it carefully before training"
    segments = [Segment(words, 0.0, 6.0), Segment("now we build the model with three layers and train it for ten epochs today", 8.0, 13.0)]
    sentences = segments_to_sentences(segments)
    assert len(sentences) == 2
    assert sentences[1].text.startswith("now we build") and sentences[1].start == 8.0


def test_chunks_overlap_by_whole_sentences() -> None:
    sentences = [Sentence(f"sentence number {i} has exactly seven words", float(i * 3), float(i * 3 + 2)) for i in range(20)]
    windows = chunk_sentences(sentences, chunk_words=30, overlap_words=10)
    assert all(sum(len(s.text.split()) for s in w) <= 30 for w in windows)
    for previous, current in pairwise(windows):
        assert current[0] in previous  # overlap
        assert current[0] != previous[0]  # progress
    assert windows[-1][-1] == sentences[-1]
    assert {s for w in windows for s in w} == set(sentences)


def test_chunk_documents_carry_design_meta_and_sentence_times() -> None:
    sentences = [Sentence(f"Point {i} about backpropagation through time.", 60.0 + i * 4, 63.0 + i * 4) for i in range(30)]
    documents = chunk_documents(VIDEO, sentences, chunk_words=40, overlap_words=10, embedding_model="m")
    assert len(documents) > 3
    for document in documents:
        meta = document.meta
        assert {"video_id", "title", "url", "start_s", "end_s", "kind", "source"} <= set(meta)
        assert meta["kind"] == "chunk" and meta["video_id"] == "vid123" and meta["source"] == "course"
        inner = sentences_of_chunk(document)
        assert meta["start_s"] == inner[0][1] and meta["end_s"] == inner[-1][2]
        assert all(text.startswith("Point") for text, _, _ in inner)
    again = chunk_documents(VIDEO, sentences, chunk_words=40, overlap_words=10, embedding_model="m")
    assert [d.id for d in again] == [d.id for d in documents]
    other_model = chunk_documents(VIDEO, sentences, chunk_words=40, overlap_words=10, embedding_model="other")
    assert not {d.id for d in other_model} & {d.id for d in documents}


def test_untimed_transcripts_chunk_with_null_times() -> None:
    sentences = segments_to_sentences([Segment("No timing here at all. Just words.")])
    document = chunk_documents(VIDEO, sentences, chunk_words=50, overlap_words=5, embedding_model="m")[0]
    assert document.meta["start_s"] is None and document.meta["end_s"] is None
