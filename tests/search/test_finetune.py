"""A tiny fine-tune that really trains, changes the embeddings, and re-embeds the index when switched to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipelines.finetune import FinetuneConfig, finetune, one_video_per_batch
from pipelines.triplets import Triplet


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

    from pipelines.document_store import open_store
    from pipelines.ingest import Ingestor
    from tests.search.conftest import SAMPLE_COURSE

    settings, bundle = sample_index
    triplets = [
        Triplet("how are the two rankings merged?", "Hybrid search. Reciprocal rank fusion adds one over sixty plus the rank.", "Voice. Piper speaks the answer.", "rag", "voice", "sentence"),
        Triplet("what speaks the answer?", "Voice. Piper speaks the answer in a clear voice.", "Hybrid search. BM25 scores words.", "voice", "rag", "sentence"),
        Triplet("how is audio turned into text?", "Whisper. Whisper transcribes the lecture audio.", "Hybrid search. Dense vectors.", "whisper", "rag", "sentence"),
        Triplet("why fine-tune the embedder?", "Contrastive. Fine-tuning teaches the course vocabulary.", "Voice. Clips are cached.", "contrastive", "voice", "sentence"),
    ]
    output = tmp_path / "models" / "tiny"
    result = finetune(triplets * 2, triplets[:2], FinetuneConfig(settings.embedding_model, output, batch_size=4, max_steps=2, max_seq_length=32, learning_rate=5e-4))
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
