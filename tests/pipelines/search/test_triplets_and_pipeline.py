"""Mining invariants on a real index, the rerank stage wiring, and `course-ta eval` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli.main import main
from pipelines.search.query import build_retrieval_pipeline, query_inputs
from pipelines.training.triplets import mine_triplets, read_triplets, write_triplets
from pipelines.training.triplets.anchors import IdfTable, question_from_sentence, question_from_title
from pipelines.training.triplets.mining import NEAR_DUPLICATE, passage_text
from pipelines.training.triplets.split import stored_chunks


def _embedder(settings):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(settings.embedding_model, local_files_only=True)
    return lambda texts: model.encode(texts, normalize_embeddings=True, convert_to_numpy=True), model


def test_mined_negatives_come_from_other_videos_and_held_out_videos_never_appear(sample_index) -> None:
    settings, bundle = sample_index
    documents = stored_chunks(bundle)
    embed, _ = _embedder(settings)
    held_out = {"ct-voice-401"}
    report = mine_triplets(documents, embed, held_out=held_out, max_per_video=10)
    assert report.triplets, "the sample course yields triplets"
    held_out_text = {passage_text(d) for d in documents if d.meta["video_id"] in held_out}
    by_text = {passage_text(d): d for d in documents}
    by_id = {d.id: d for d in documents}
    cut = 0
    for triplet in report.triplets:
        assert triplet.negative_video_id != triplet.video_id
        assert by_text[triplet.negative].meta["video_id"] == triplet.negative_video_id
        chunk = by_id[triplet.positive_chunk]
        assert chunk.meta["video_id"] == triplet.video_id
        if triplet.source in ("restatement", "lecture-question") and triplet.positive != passage_text(chunk):
            # Inverse cloze: the anchor's sentence is cut out of its own passage, nothing else is.
            cut += 1
            assert len(triplet.positive) < len(passage_text(chunk))
            assert not set(triplet.positive.split()) - set(passage_text(chunk).split())
            assert triplet.anchor.rstrip("?.") not in triplet.positive
        else:
            assert triplet.positive == passage_text(chunk)
        assert triplet.video_id not in held_out and triplet.negative_video_id not in held_out
        assert triplet.positive not in held_out_text and triplet.negative not in held_out_text
        # Near-duplicates of the positive's chunk never become negatives.
        positive, negative = embed([passage_text(chunk), triplet.negative])
        assert float(positive @ negative) < NEAR_DUPLICATE + 0.01
    assert cut, "restatement anchors are paired with their passage minus the sentence"
    assert {t.source for t in report.triplets} >= {"restatement", "title"}
    anchors = [" ".join(t.anchor.lower().split()) for t in report.triplets]
    assert len(anchors) == len(set(anchors)), "anchors are deduplicated"
    # Deterministic: the same index gives the same file.
    again = mine_triplets(documents, embed, held_out=held_out, max_per_video=10)
    assert again.triplets == report.triplets


def test_a_near_duplicate_of_the_positive_is_skipped() -> None:
    from haystack import Document

    def doc(video: str, text: str, vector: list[float], index: int = 0) -> Document:
        return Document(content=text, embedding=vector, meta={"video_id": video, "title": video, "kind": "chunk", "chunk_index": index})

    positive_text = "Dynamic padding is a way to pad each batch to its longest sentence instead of the whole dataset."
    documents = [
        doc("pt", positive_text, [1.0, 0.0, 0.0]),
        doc("tf", "So d" + positive_text[1:], [0.99, 0.14, 0.0]),  # the TensorFlow twin of the same lesson
        doc("other", "Batching sentences of different lengths needs padding tokens and an attention mask.", [0.6, 0.8, 0.0]),
    ]

    def embed(texts: list[str]) -> np.ndarray:
        return np.tile(np.array([[0.9, 0.3, 0.3]], dtype=np.float32) / np.linalg.norm([0.9, 0.3, 0.3]), (len(texts), 1))

    report = mine_triplets(documents, embed, max_per_video=5)
    from_pt = [t for t in report.triplets if t.video_id == "pt"]
    assert from_pt and from_pt[0].anchor.startswith(
        ("what is dynamic padding", "what exactly is dynamic padding", "can you define dynamic padding")
    )
    assert all(t.negative_video_id == "other" for t in from_pt)


def test_a_word_for_word_twin_of_a_held_out_lecture_is_held_out_too() -> None:
    from haystack import Document

    from pipelines.training.triplets.split import with_twins

    def doc(video: str, index: int, vector: list[float]) -> Document:
        text = f"{video} passage {index} about padding batches and attention masks in detail"
        return Document(content=text, embedding=vector, meta={"video_id": video, "title": video, "kind": "chunk", "chunk_index": index})

    documents = [
        doc("dev-pt", 0, [1.0, 0.0, 0.0]),
        doc("dev-pt", 1, [0.0, 1.0, 0.0]),
        doc("twin-tf", 0, [1.0, 0.01, 0.0]),
        doc("twin-tf", 1, [0.0, 1.0, 0.02]),  # same lesson, other framework
        doc("related", 0, [0.8, 0.6, 0.0]),
        doc("related", 1, [0.0, 0.6, 0.8]),  # overlaps, but not a copy
        doc("other", 0, [0.0, 0.0, 1.0]),
        doc("other", 1, [0.1, 0.0, 1.0]),
    ]
    vectors = np.asarray([d.embedding for d in documents], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    videos = np.asarray([d.meta["video_id"] for d in documents])
    assert with_twins({"dev-pt"}, videos, vectors) == {"dev-pt", "twin-tf"}

    def embed(texts: list[str]) -> np.ndarray:
        return np.tile(np.array([[0.0, 0.0, 1.0]], dtype=np.float32), (len(texts), 1))

    report = mine_triplets(documents, embed, held_out={"dev-pt"}, max_per_video=5)
    assert report.held_out_videos == ["dev-pt", "twin-tf"]
    assert all({t.video_id, t.negative_video_id} <= {"related", "other"} for t in report.triplets)


def test_lecture_questions_and_restatements_as_anchors() -> None:
    from pipelines.training.triplets.anchors import lecture_question, restatement

    texts = ["why do we need an attention mask for padding tokens", "padding tokens batch", "attention mask", "tokenizer vocabulary"] * 3
    idf = IdfTable(texts)
    assert lecture_question("So why do we need an attention mask when we add padding tokens?", idf) == (
        "Why do we need an attention mask when we add padding tokens?"
    )
    assert lecture_question("Right?", idf) is None and lecture_question("Does that make sense?", idf) is None
    assert lecture_question("We add padding tokens and an attention mask.", idf) is None  # not a question
    assert restatement("Okay, so the attention mask hides the padding tokens.", idf) == "the attention mask hides the padding tokens."
    assert restatement("And that was fun.", idf) is None


def test_anchor_generators_read_like_questions() -> None:
    idf = IdfTable(
        [
            "the tokenizer splits text",
            "padding tokens in a batch",
            "the tokenizer vocabulary",
            "attention mask padding",
            "vocabulary size grows",
            "tokenizer padding batch vocabulary",
        ]
        * 2
    )
    definition = question_from_sentence("A tokenizer is a function that splits text into tokens.", idf, "k")
    assert definition is not None and "tokenizer" in definition and definition.rstrip("?").split()[0] in ("what", "can")
    assert question_from_title("Word-based tokenizers | Chapter 2", "v").count("word-based tokenizers") == 1
    assert question_from_sentence("Yes.", idf, "k") is None


def test_triplet_file_round_trip_and_bad_line(tmp_path: Path) -> None:
    from pipelines.training.triplets import Triplet

    triplets = [Triplet("what is padding?", "p", "n", "a", "b", "definition")]
    path = tmp_path / "t.jsonl"
    write_triplets(triplets, path)
    assert read_triplets(path) == triplets
    path.write_text(path.read_text() + '{"anchor": "x"}\n')
    with pytest.raises(ValueError, match=r"t\.jsonl:2"):
        read_triplets(path)


def test_without_a_reranker_the_pipeline_is_unchanged(sample_index) -> None:
    settings, bundle = sample_index
    pipeline = build_retrieval_pipeline(settings, bundle)
    assert set(pipeline.graph.nodes) == {"text_embedder", "dense_retriever", "bm25_retriever", "fusion", "diversity"}
    assert [s for s, _ in pipeline.graph.in_edges("diversity")] == ["fusion"]


def test_a_cross_encoder_rerank_stage_runs_between_fusion_and_the_video_cap(sample_index, tmp_path: Path) -> None:
    """No trained cross-encoder is installable here; a CrossEncoder built on MiniLM's weights proves the wiring."""
    from sentence_transformers import CrossEncoder

    settings, bundle = sample_index
    path = tmp_path / "cross-encoder"
    CrossEncoder(settings.embedding_model, num_labels=1, local_files_only=True).save(str(path))
    configured = settings.model_copy(update={"reranker_model": str(path), "rerank_top_k": 4})
    pipeline = build_retrieval_pipeline(configured, bundle)
    assert [s for s, _ in pipeline.graph.in_edges("reranker")] == ["fusion"]
    assert [s for s, _ in pipeline.graph.in_edges("diversity")] == ["reranker"]
    pipeline.warm_up()
    output = pipeline.run(query_inputs(pipeline, "what is reciprocal rank fusion?"), include_outputs_from={"reranker"})
    reranked = output["reranker"]["documents"]
    assert 1 <= len(reranked) <= 4
    scores = [d.score for d in reranked]
    assert scores == sorted(scores, reverse=True)


def test_eval_command_reports_table_json_plot_and_calibration(sample_index, tmp_path: Path, monkeypatch, capsys) -> None:
    settings, _ = sample_index
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(settings.data_dir))
    questions = tmp_path / "dev.jsonl"
    lines = [
        {"question": "how do you merge the BM25 and embedding rankings?", "video_id": "ct-rag-101", "start_s": 0, "end_s": 600},
        {"question": "how do I get the whisper transcript of a lecture?", "video_id": "ct-whisper-301", "start_s": 0, "end_s": 600},
        {"question": "what's a good sourdough recipe?", "video_id": None, "start_s": None, "end_s": None},
    ]
    questions.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report, plot = tmp_path / "report.json", tmp_path / "hits.png"
    code = main(
        [
            "eval",
            "--questions",
            str(questions),
            "--compare",
            "bm25,hybrid",
            "--json",
            str(report),
            "--plot",
            str(plot),
            "--calibrate",
            "--per-question",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "hit@3" in out and "bm25" in out and "hybrid" in out and "min_relevance=" in out
    data = json.loads(report.read_text())
    assert [run["name"] for run in data["runs"]] == ["bm25", "hybrid"]
    hybrid = data["runs"][1]
    assert hybrid["summary"]["answerable"] == 2 and hybrid["summary"]["unanswerable"] == 1
    assert len(hybrid["questions"]) == 3 and "rank" in hybrid["questions"][0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (settings.data_dir / "calibration.json").exists()


def test_eval_rejects_a_bad_question_file_with_the_line(tmp_path: Path, capsys) -> None:
    questions = tmp_path / "dev.jsonl"
    questions.write_text('{"question": "ok", "video_id": null}\n{"question": "", "video_id": null}\n')
    assert main(["eval", "--questions", str(questions)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_triplets_command_writes_jsonl_and_skips_held_out_videos(sample_index, tmp_path: Path, monkeypatch, capsys) -> None:
    settings, _ = sample_index
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(settings.data_dir))
    held_out = tmp_path / "held.jsonl"
    held_out.write_text('{"question": "how does rank fusion work?", "video_id": "ct-rag-101", "start_s": 0, "end_s": 60}\n')
    output = tmp_path / "triplets.jsonl"
    assert main(["triplets", "-o", str(output), "--held-out", str(held_out)]) == 0
    assert "1 held-out videos skipped" in capsys.readouterr().out
    triplets = read_triplets(output)
    assert triplets and all("ct-rag-101" not in (t.video_id, t.negative_video_id) for t in triplets)
