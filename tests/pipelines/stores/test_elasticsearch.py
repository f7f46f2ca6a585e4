"""The same pipelines against a live Elasticsearch; skipped unless COURSE_TA_ELASTICSEARCH_URL is set."""

from __future__ import annotations

import os
import uuid

import pytest

from bot.answering.service import AnswerService
from bot.cli.demo import SAMPLE_COURSE
from pipelines.freshness.ingest import Ingestor
from pipelines.search.query import build_query_pipeline
from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store

ES_URL = os.environ.get("COURSE_TA_ELASTICSEARCH_URL")
live = pytest.mark.skipif(not ES_URL, reason="COURSE_TA_ELASTICSEARCH_URL is not set (no Elasticsearch server here)")


def test_elasticsearch_is_wired_into_the_same_pipeline_without_connecting() -> None:
    settings = load_settings(elasticsearch_url="http://127.0.0.1:9", elasticsearch_index="wiring-check")
    bundle = open_store(settings)
    assert bundle.name == "elasticsearch"
    pipeline = build_query_pipeline(settings, bundle)
    assert type(pipeline.get_component("bm25_retriever")).__name__ == "ElasticsearchBM25Retriever"
    assert type(pipeline.get_component("dense_retriever")).__name__ == "ElasticsearchEmbeddingRetriever"


@pytest.mark.elasticsearch
@live
def test_index_reindex_and_answer_on_elasticsearch() -> None:
    index = f"course-ta-test-{uuid.uuid4().hex[:8]}"
    settings = load_settings(elasticsearch_index=index)
    bundle = open_store(settings)
    try:
        first = Ingestor(settings, bundle).ingest([SAMPLE_COURSE])
        assert first.count("added") == 4
        again = Ingestor(settings, open_store(settings)).ingest([SAMPLE_COURSE])
        assert again.count("unchanged") == 4 and again.chunks_added == 0
        answer = AnswerService(settings).answer("Why should I turn on voice activity detection with Whisper?")
        assert answer.grounded and answer.store == "elasticsearch"
        assert answer.citations[0].video_id == "ct-whisper-301"
    finally:
        bundle.store.client.indices.delete(index=index, ignore_unavailable=True)
