"""Our Elasticsearch admin code against a local server speaking the REST wire format (real client)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from haystack import Document
from haystack.document_stores.errors import DocumentStoreError
from haystack.document_stores.types import DuplicatePolicy

from pipelines.settings import load_settings
from pipelines.stores import elasticsearch_index as es_index
from pipelines.stores.document_store import open_store
from pipelines.stores.elasticsearch_store import CourseElasticsearchStore
from tests.fakes.elasticsearch_wire import Cluster, WireServer


def _docs(n: int, dims: int = 384) -> list[Document]:
    return [Document(content=f"chunk {i}", meta={"video_id": f"v{i % 2}", "kind": "chunk"}, embedding=[0.1] * dims) for i in range(n)]


def test_first_connection_creates_a_timestamped_index_behind_the_alias_with_our_mapping() -> None:
    with WireServer(Cluster(version="8.15.1")) as es:
        bundle = open_store(load_settings(elasticsearch_url=es.url, elasticsearch_index="course"))
        assert es.cluster.indices == {}  # lazy: nothing before first use
        assert bundle.store.count_documents() == 0
        (index,) = es.cluster.indices
        assert index.startswith("course-") and bundle.store.index == index  # pinned to the concrete index
        assert es.cluster.aliases["course"] == {index: {"is_write_index": True}}
        mappings = es.cluster.indices[index]["mappings"]
        embedding = mappings["properties"]["embedding"]
        assert embedding["dims"] == 384 and embedding["similarity"] == "cosine"
        assert embedding["index_options"]["type"] == "int8_hnsw"
        assert mappings["properties"]["content"]["analyzer"] == "english"
        assert {mappings["properties"][f]["type"] for f in ("video_id", "kind", "source")} == {"keyword"}
        assert mappings["_meta"]["course_ta"]["dims"] == 384
        assert es.cluster.indices[index]["settings"] == {"number_of_shards": 1, "number_of_replicas": 0}
        # A second process finds the alias and creates nothing.
        again = open_store(load_settings(elasticsearch_url=es.url, elasticsearch_index="course"))
        assert again.store.count_documents() == 0 and list(es.cluster.indices) == [index]


def test_clusters_before_8_12_get_plain_hnsw_and_before_8_0_are_refused() -> None:
    with WireServer(Cluster(version="8.11.4")) as es:
        store = open_store(load_settings(elasticsearch_url=es.url)).store
        store.count_documents()
        (index,) = es.cluster.indices
        assert es.cluster.indices[index]["mappings"]["properties"]["embedding"]["index_options"]["type"] == "hnsw"
    with WireServer(Cluster(version="7.17.9")) as es:
        store = open_store(load_settings(elasticsearch_url=es.url)).store
        with pytest.raises(es_index.ElasticsearchSetupError, match=r"needs 8\.0 or newer"):
            store.count_documents()
        assert es.cluster.indices == {}


def test_bulk_writes_retry_rejected_items_and_report_real_failures() -> None:
    with WireServer(Cluster()) as es:
        store = CourseElasticsearchStore(
            hosts=es.url,
            index="course",
            embedding_model=load_settings().embedding_model,
            api_key=None,
            api_key_id=None,
            bulk_chunk_size=3,
            bulk_initial_backoff=0.01,
        )
        documents = _docs(7)
        es.cluster.reject_once = {documents[1].id, documents[5].id}
        assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 7
        bulks = [body for method, path, body in es.cluster.requests if path.endswith("_bulk")]
        ids = [[json.loads(line)["index"]["_id"] for line in body.decode().splitlines()[::2]] for body in bulks]
        # Each chunk's rejected item is sent again right after its chunk, alone.
        d = [doc.id for doc in documents]
        assert ids == [d[0:3], [d[1]], d[3:6], [d[5]], d[6:7]]
        assert len(es.cluster.indices[store.index]["docs"]) == 7

        es.cluster.fail_ids = {documents[2].id}
        with pytest.raises(DocumentStoreError, match=r"1 of 7 documents were not written .*document_parsing_exception"):
            store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)


def test_basic_auth_is_sent_and_never_serialised() -> None:
    with WireServer(Cluster(password="s3cret-pass")) as es:
        settings = load_settings(elasticsearch_url=es.url, elasticsearch_username="elastic", elasticsearch_password="s3cret-pass")
        store = open_store(settings).store
        assert store.count_documents() == 0
        assert "s3cret-pass" not in json.dumps(store.to_dict(), default=str)
        wrong = open_store(load_settings(elasticsearch_url=es.url, elasticsearch_username="elastic", elasticsearch_password="nope")).store
        from pipelines.stores.errors import StoreUnavailableError

        # one line the CLI prints, not the client's own error
        with pytest.raises(StoreUnavailableError, match=r"rejected the credentials \(401\)"):
            wrong.count_documents()


def test_alias_switch_is_one_atomic_request_and_adopts_a_pre_alias_index() -> None:
    with WireServer(Cluster()) as es:
        settings = load_settings(elasticsearch_url=es.url, elasticsearch_index="course")
        client = es_index.connect(settings)
        layout = es_index.layout_for(settings, (8, 15), dims=384)
        client.indices.create(index="course", mappings=layout.mappings())  # the layout before aliases
        assert es_index.resolve(client, "course") == ("course", False)
        first = es_index.create_physical_index(client, "course", layout)
        es.cluster.requests.clear()
        assert es_index.switch_alias(client, "course", first) == []
        (request,) = [json.loads(body) for method, path, body in es.cluster.requests if path == "/_aliases"]
        assert request["actions"] == [
            {"remove_index": {"index": "course"}},
            {"add": {"index": first, "alias": "course", "is_write_index": True}},
        ]
        assert es_index.resolve(client, "course") == (first, True)

        second = es_index.create_physical_index(client, "course", layout)
        es.cluster.requests.clear()
        assert es_index.switch_alias(client, "course", second) == [first]
        (request,) = [json.loads(body) for method, path, body in es.cluster.requests if path == "/_aliases"]
        assert request["actions"] == [
            {"remove": {"index": first, "alias": "course"}},
            {"add": {"index": second, "alias": "course", "is_write_index": True}},
        ]
        assert es.cluster.behind("course") == [second] and first in es.cluster.indices  # old kept for rollback


def test_mapping_problems_name_what_disagrees() -> None:
    with WireServer(Cluster()) as es:
        settings = load_settings(elasticsearch_url=es.url, elasticsearch_index="course")
        client = es_index.connect(settings)
        good = es_index.layout_for(settings, (8, 15), dims=384)
        client.indices.create(index="good", mappings=good.mappings())
        assert es_index.mapping_problems(client, "good", settings, 384) == []
        other = es_index.IndexLayout(dims=768, embedding_model="some/other-model", server_version=(8, 15))
        client.indices.create(index="bad", mappings=other.mappings())
        problems = es_index.mapping_problems(client, "bad", settings, 384)
        assert any("dims is 768" in p for p in problems) and any("some/other-model" in p for p in problems)


def test_migrate_copies_the_embedded_index_without_re_embedding(sample_data_dir: Path) -> None:
    from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
    from pipelines.stores.migrate import MigrationError, migrate_to_elasticsearch

    embedded = {d.id: d for d in PersistentInMemoryDocumentStore(sample_data_dir / "store").storage.values()}
    with WireServer(Cluster()) as es:
        settings = load_settings(data_dir=sample_data_dir, elasticsearch_url=es.url, elasticsearch_index="course")
        report = migrate_to_elasticsearch(settings)
        assert report.documents == report.written == report.in_target == len(embedded) and report.dims == 384
        (index,) = es.cluster.indices
        stored = es.cluster.indices[index]["docs"]
        assert set(stored) == set(embedded)
        for doc_id, source in stored.items():
            assert source["embedding"] == embedded[doc_id].embedding  # the same vectors, bit for bit
            assert source["video_id"] == embedded[doc_id].meta["video_id"] and source["content"] == embedded[doc_id].content
        again = migrate_to_elasticsearch(settings)  # idempotent: same ids overwritten, nothing duplicated
        assert again.in_target == len(embedded) and len(es.cluster.indices[index]["docs"]) == len(embedded)
    with pytest.raises(MigrationError, match="no embedded index"):
        migrate_to_elasticsearch(load_settings(data_dir=sample_data_dir / "empty", elasticsearch_url="http://127.0.0.1:9"))
    with pytest.raises(MigrationError, match="COURSE_TA_ELASTICSEARCH_URL is not set"):
        migrate_to_elasticsearch(load_settings(data_dir=sample_data_dir, elasticsearch_url=""))


def test_reindex_copies_catches_up_and_switches_then_cleanup_deletes_the_old(sample_data_dir: Path) -> None:
    from pipelines.stores.migrate import migrate_to_elasticsearch
    from pipelines.stores.reindex import finish_reindex, reindex

    with WireServer(Cluster()) as es:
        settings = load_settings(data_dir=sample_data_dir, elasticsearch_url=es.url, elasticsearch_index="course")
        migrate_to_elasticsearch(settings)
        (old,) = es.cluster.indices
        before = dict(es.cluster.indices[old]["docs"])
        assert set(open_store(settings).ids_by_video()) == {"ct-rag-101", "ct-contrastive-201", "ct-whisper-301", "ct-voice-401"}

        report = reindex(settings, reembed=False)
        assert report.switched and report.old_indices == [old] and report.copied == len(before)
        assert es.cluster.behind("course") == [report.new_index]
        assert es.cluster.indices[report.new_index]["docs"] == before  # same ids, meta and vectors
        assert es.cluster.indices[report.new_index]["mappings"]["_meta"]["course_ta"]["dims"] == 384
        # A process started before the switch wrote one more chunk into the old index: cleanup copies it.
        late = Document(content="a late chunk", meta={"video_id": "ct-rag-101", "kind": "chunk"}, embedding=[0.2] * 384)
        es.cluster.indices[old]["docs"][late.id] = {**late.to_dict(), "blob": None}
        done = finish_reindex(settings, reembed=False)
        assert done.copied == 1 and done.deleted == [old] and old not in es.cluster.indices
        assert late.id in es.cluster.indices[report.new_index]["docs"]
