"""An Elasticsearch that is down, or goes down while the app runs, is a StoreUnavailableError naming the
server (never its credentials) and the fix, on every read and write, not the transport's own error."""

from __future__ import annotations

import pytest
from haystack import Document

from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store
from pipelines.stores.elasticsearch_store import safe_hosts
from pipelines.stores.errors import StoreUnavailableError
from tests.fakes.elasticsearch_wire import Cluster, WireServer


def test_a_cluster_that_goes_away_fails_every_call_with_the_fix() -> None:
    es = WireServer(Cluster()).__enter__()
    store = open_store(load_settings(elasticsearch_url=es.url, elasticsearch_max_retries=0)).store
    assert store.count_documents() == 0  # connected, index pinned
    es.__exit__(None, None, None)
    for node in store.client.transport.node_pool.all():
        node.close()  # drop kept-alive connections: the next call must open a new one, to a port nothing listens on
    calls = {
        "count": store.count_documents,
        "bm25": lambda: store._bm25_retrieval("what is rank fusion"),
        "vector": lambda: store._embedding_retrieval([0.1] * 384),
        "filter": lambda: store.filter_documents({"field": "meta.kind", "operator": "==", "value": "chunk"}),
        "count by filter": lambda: store.count_documents_by_filter({"field": "meta.kind", "operator": "==", "value": "chunk"}),
        "write": lambda: store.write_documents([Document(content="x", meta={"kind": "chunk"}, embedding=[0.1] * 384)]),
        "delete": lambda: store.delete_documents(["x"]),
    }
    for name, call in calls.items():
        with pytest.raises(StoreUnavailableError, match="cannot be reached") as raised:
            call()
        assert "docker compose" in str(raised.value) and es.url in str(raised.value), name


def test_credentials_never_appear_in_the_message() -> None:
    assert safe_hosts("https://elastic:pa55@es.example:9200/") == "https://es.example:9200/"
    assert safe_hosts(["http://u:p@a:9200", "http://b:9200"]) == "http://a:9200, http://b:9200"
    assert safe_hosts("user:pw@host:9200") == "host:9200"
    store = open_store(load_settings(elasticsearch_url="http://elastic:pa55-word@127.0.0.1:9", elasticsearch_max_retries=0)).store
    with pytest.raises(StoreUnavailableError) as raised:
        store.count_documents()
    assert "pa55-word" not in str(raised.value) and "elastic:" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no transport detail chained under it
