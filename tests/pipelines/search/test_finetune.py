"""A tiny fine-tune that really trains, changes the embeddings, and re-embeds the index when switched to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipelines.training.finetune import FinetuneConfig, finetune, one_video_per_batch
from pipelines.training.triplets import Triplet, read_triplets


def test_batches_never_hold_two_triplets_of_one_video() -> None:
    from datasets import Dataset

    videos = [f"v{i % 7}" for i in range(50)]
    sampler = one_video_per_batch(videos)(Dataset.from_dict({"x": list(range(50))}), batch_size=5, drop_last=False, seed=3)
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(50))
    for batch in batches:
        assert len({videos[i] for i in batch}) == len(batch) <= 5


def test_tiny_finetune_changes_embeddings_writes_a_card_and_reembeds_the_index(sample_index, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from pipelines.freshness.ingest import Ingestor
    from pipelines.stores.document_store import open_store
    from tests.pipelines.search.conftest import SAMPLE_COURSE

    settings, bundle = sample_index
    triplets = [
        Triplet(
            "how are the two rankings merged?",
            "Hybrid search. Reciprocal rank fusion adds one over sixty plus the rank.",
            "Voice. Piper speaks the answer.",
            "rag",
            "voice",
            "sentence",
        ),
        Triplet(
            "what speaks the answer?",
            "Voice. Piper speaks the answer in a clear voice.",
            "Hybrid search. BM25 scores words.",
            "voice",
            "rag",
            "sentence",
        ),
        Triplet(
            "how is audio turned into text?",
            "Whisper. Whisper transcribes the lecture audio.",
            "Hybrid search. Dense vectors.",
            "whisper",
            "rag",
            "sentence",
        ),
        Triplet(
            "why fine-tune the embedder?",
            "Contrastive. Fine-tuning teaches the course vocabulary.",
            "Voice. Clips are cached.",
            "contrastive",
            "voice",
            "sentence",
        ),
    ]
    output = tmp_path / "models" / "tiny"
    result = finetune(
        triplets * 2,
        triplets[:2],
        FinetuneConfig(settings.embedding_model, output, batch_size=4, max_steps=2, max_seq_length=32, learning_rate=5e-4),
    )
    assert result.steps == 2 and "train_loss" in result.metrics
    assert (output / "model.safetensors").exists()
    card = (output / "README.md").read_text()
    assert "MultipleNegativesRankingLoss" in card and "Held-out split by video" in card
    assert json.loads((output / "course_ta_training.json").read_text())["train_triplets"] == 8

    text = ["how are the two rankings merged?"]
    before = SentenceTransformer(settings.embedding_model, local_files_only=True).encode(text)
    after = SentenceTransformer(str(output), local_files_only=True).encode(text)
    assert not np.allclose(before, after, atol=1e-4)

    # Switching COURSE_TA_EMBEDDING_MODEL re-embeds: every id changes and no old vector is left behind.
    old_ids = {d.id for d in bundle.store.filter_documents()}
    switched = settings.model_copy(update={"embedding_model": str(output)})
    report = Ingestor(switched, open_store(switched)).ingest([SAMPLE_COURSE])
    assert report.count("updated") == 4
    new_ids = {d.id for d in open_store(switched).store.filter_documents()}
    assert new_ids and not (new_ids & old_ids) and len(new_ids) == len(old_ids)


def test_finetune_command_trains_with_the_cached_loss_from_mined_triplets(sample_index, tmp_path: Path, monkeypatch, capsys) -> None:
    """`course-ta triplets` then `course-ta finetune --cached`: the whole CLI path, one GradCache step."""
    from bot.cli.main import main

    settings, _ = sample_index
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(settings.data_dir))
    triplets = tmp_path / "triplets.jsonl"
    assert main(["triplets", "-o", str(triplets), "--held-out", str(tmp_path / "none.jsonl")]) == 2  # a missing file is an error
    assert "none.jsonl" in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere.jsonl"  # a dev set about another course holds nothing of this one out
    elsewhere.write_text('{"question": "what is a monad?", "video_id": "not-this-course", "start_s": 0, "end_s": 9}\n')
    assert main(["triplets", "-o", str(triplets), "--held-out", str(elsewhere)]) == 0
    capsys.readouterr()
    args = [
        "finetune",
        "--triplets",
        str(triplets),
        "--name",
        "cli-tiny",
        "--cached",
        "--mini-batch-size",
        "2",
        "--batch-size",
        "4",
        "--max-steps",
        "1",
        "--max-seq-length",
        "32",
        "--validation-share",
        "0",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    model_dir = settings.data_dir / "models" / "cli-tiny"
    assert str(model_dir) in out and f"COURSE_TA_EMBEDDING_MODEL={model_dir}" in out
    info = json.loads((model_dir / "course_ta_training.json").read_text())
    assert info["loss"] == "CachedMultipleNegativesRankingLoss" and info["steps"] == 1 and info["batch_size"] == 4
    assert main(["finetune", "--triplets", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["finetune", "--triplets", str(triplets), "--batch-size", "1"]) == 2
    assert main(["finetune", "--triplets", str(triplets), "--reranker", "--cached"]) == 2


def test_a_reranker_trained_on_the_triplets_runs_in_the_rerank_stage(sample_index, tmp_path: Path, monkeypatch, capsys) -> None:
    """`course-ta finetune --reranker`: a cross-encoder from the triplets, then served by the rerank stage."""
    from sentence_transformers.cross_encoder import CrossEncoder

    from bot.cli.main import main
    from pipelines.search.query import build_retrieval_pipeline, query_inputs
    from pipelines.training.reranker_finetune import pair_rows

    settings, bundle = sample_index
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(settings.data_dir))
    triplets = tmp_path / "triplets.jsonl"
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text('{"question": "what is a monad?", "video_id": "not-this-course", "start_s": 0, "end_s": 9}\n')
    assert main(["triplets", "-o", str(triplets), "--held-out", str(elsewhere)]) == 0
    rows = pair_rows(read_triplets(triplets), seed=1)
    assert rows["label"].count(1.0) == len(read_triplets(triplets)) and 0.0 in rows["label"]
    capsys.readouterr()
    args = [
        "finetune",
        "--triplets",
        str(triplets),
        "--reranker",
        "--name",
        "rr",
        "--batch-size",
        "6",
        "--max-steps",
        "2",
        "--max-seq-length",
        "64",
        "--learning-rate",
        "1e-3",
        "--validation-share",
        "0",
    ]
    assert main(args) == 0
    model_dir = settings.data_dir / "models" / "rr"
    assert f"COURSE_TA_RERANKER_MODEL={model_dir}" in capsys.readouterr().out
    info = json.loads((model_dir / "course_ta_training.json").read_text())
    assert info["loss"] == "BinaryCrossEntropyLoss" and info["steps"] == 2 and info["kind"] == "cross-encoder reranker"
    pair = [("how do the two rankings get merged?", "Reciprocal rank fusion adds one over sixty plus the rank.")]
    untrained = CrossEncoder(settings.embedding_model, num_labels=1, local_files_only=True).predict(pair)
    trained = CrossEncoder(str(model_dir), local_files_only=True).predict(pair)
    assert not np.allclose(untrained, trained, atol=1e-4)

    pipeline = build_retrieval_pipeline(settings.model_copy(update={"reranker_model": str(model_dir), "rerank_top_k": 4}), bundle)
    pipeline.warm_up()
    reranked = pipeline.run(query_inputs(pipeline, "how are BM25 and dense results combined?"), include_outputs_from={"reranker"})[
        "reranker"
    ]["documents"]
    assert 1 <= len(reranked) <= 4 and [d.score for d in reranked] == sorted((d.score for d in reranked), reverse=True)
