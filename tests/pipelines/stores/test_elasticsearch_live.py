"""Against a live Elasticsearch (skipped unless COURSE_TA_ELASTICSEARCH_URL is set): index, re-index,
hybrid query, alias switch, migrate. Each test uses its own alias and deletes its indices."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.service import AnswerService
from bot.cli.demo import SAMPLE_COURSE
from pipelines.freshness.ingest import Ingestor
from pipelines.search.query import build_retrieval_pipeline, query_inputs
from pipelines.settings import Settings, load_settings
from pipelines.stores import elasticsearch_index as es_index
from pipelines.stores.document_store import open_store

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(
        not os.environ.get("COURSE_TA_ELASTICSEARCH_URL"), reason="COURSE_TA_ELASTICSEARCH_URL is not set (no Elasticsearch server here)"
    ),
]
QUESTION = "Why should I turn on voice activity detection with Whisper?"


@pytest.fixture
def es_settings() -> Iterator[Settings]:
    alias = f"course-ta-live-{uuid.uuid4().hex[:8]}"
    settings = load_settings(elasticsearch_index=alias)
    yield settings
    client = es_index.connect(settings)
    for name in client.indices.get(index=f"{alias}*", ignore_unavailable=True).body:
        client.indices.delete(index=name, ignore_unavailable=True)


def _ingest(settings: Settings) -> None:
    report = Ingestor(settings, open_store(settings)).ingest([SAMPLE_COURSE])
    assert report.count("added") == 4


def test_index_layout_and_hybrid_query(es_settings: Settings) -> None:
    _ingest(es_settings)
    client = es_index.connect(es_settings)
    (index,) = es_index.indices_behind(client, es_settings.elasticsearch_index)
    version = es_index.server_version(client)
    embedding = es_index.index_meta(client, index)["embedding_field"]
    assert embedding["dims"] == 384
    assert embedding["index_options"]["type"] == ("int8_hnsw" if version >= es_index.INT8_HNSW_SINCE else "hnsw")
    assert es_index.mapping_problems(client, index, es_settings, 384) == []
    bundle = open_store(es_settings)
    pipeline = build_retrieval_pipeline(es_settings, bundle)
    documents = pipeline.run(query_inputs(pipeline, QUESTION))["diversity"]["documents"]
    assert documents and documents[0].meta["video_id"] == "ct-whisper-301"
    assert set(bundle.ids_by_video()) == {"ct-rag-101", "ct-contrastive-201", "ct-whisper-301", "ct-voice-401"}
    answer = AnswerService(es_settings).answer(QUESTION)
    assert answer.grounded and answer.store == "elasticsearch" and answer.citations[0].video_id == "ct-whisper-301"


def test_reindex_switches_the_alias_and_rolls_back(es_settings: Settings) -> None:
    from pipelines.stores.reindex import finish_reindex, reindex, stored_ids

    _ingest(es_settings)
    client = es_index.connect(es_settings)
    alias = es_settings.elasticsearch_index
    (old,) = es_index.indices_behind(client, alias)
    before = stored_ids(client, old)
    report = reindex(es_settings, reembed=True)
    assert report.switched and report.copied == len(before) and report.new_index != old
    assert es_index.indices_behind(client, alias) == [report.new_index]
    assert stored_ids(client, report.new_index) == before
    assert AnswerService(es_settings).answer(QUESTION).citations[0].video_id == "ct-whisper-301"
    es_index.switch_alias(client, alias, old)  # rollback is one alias move
    assert es_index.indices_behind(client, alias) == [old]
    es_index.switch_alias(client, alias, report.new_index)
    done = finish_reindex(es_settings, reembed=False)
    assert done.deleted == [old] and not client.indices.exists(index=old)
    again = Ingestor(es_settings, open_store(es_settings)).ingest([SAMPLE_COURSE])
    assert again.count("unchanged") == 4 and again.chunks_added == 0


def test_migrate_embedded_index_into_elasticsearch(es_settings: Settings, tmp_path: Path) -> None:
    from pipelines.stores.migrate import migrate_to_elasticsearch

    embedded_settings = load_settings(data_dir=tmp_path / "embedded", elasticsearch_url="")
    _ingest(embedded_settings)
    settings = es_settings.model_copy(update={"data_dir": embedded_settings.data_dir})
    report = migrate_to_elasticsearch(settings)
    assert report.in_target == report.documents > 0
    answer = AnswerService(es_settings).answer(QUESTION)
    assert answer.grounded and answer.citations[0].video_id == "ct-whisper-301"
