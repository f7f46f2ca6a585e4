"""Sentence vectors travel with their chunk into Elasticsearch (stored, not indexed) and are redone by a re-embedding re-index."""

from __future__ import annotations

from pathlib import Path

from pipelines.search.sentence_vectors import FIELD, stored_vectors
from pipelines.settings import bundled_embedding_model, load_settings
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from pipelines.stores.reindex import document_from_hit
from tests.fakes.elasticsearch_wire import Cluster, WireServer


def test_elasticsearch_stores_sentence_vectors_unindexed_and_reembedding_redoes_them(sample_data_dir: Path, tmp_path: Path) -> None:
    from pipelines.stores.migrate import migrate_to_elasticsearch
    from pipelines.stores.reindex import reindex

    embedded = {d.id: d for d in PersistentInMemoryDocumentStore(sample_data_dir / "store").storage.values()}
    chunks = {i for i, d in embedded.items() if d.meta.get("kind") == "chunk"}
    assert chunks and all(FIELD in embedded[i].meta for i in chunks)
    with WireServer(Cluster()) as es:
        settings = load_settings(data_dir=sample_data_dir, elasticsearch_url=es.url, elasticsearch_index="course")
        migrate_to_elasticsearch(settings)
        (index,) = es.cluster.indices
        assert es.cluster.indices[index]["mappings"]["properties"][FIELD] == {"type": "object", "enabled": False}
        for doc_id in chunks:
            hit = {"_id": doc_id, "_source": es.cluster.indices[index]["docs"][doc_id]}
            back = stored_vectors(document_from_hit(hit), bundled_embedding_model())
            assert back is not None and back.keys() == stored_vectors(embedded[doc_id], bundled_embedding_model()).keys()

        switched = tmp_path / "switched-model"
        switched.symlink_to(bundled_embedding_model(), target_is_directory=True)
        report = reindex(settings.model_copy(update={"embedding_model": str(switched)}), reembed=True)
        docs = es.cluster.indices[report.new_index]["docs"]
        for doc_id in chunks:
            document = document_from_hit({"_id": doc_id, "_source": docs[doc_id]})
            assert document.meta[FIELD]["model"] == str(switched)
            assert stored_vectors(document, str(switched)) is not None and stored_vectors(document, bundled_embedding_model()) is None
