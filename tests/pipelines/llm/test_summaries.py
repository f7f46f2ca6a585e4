"""Summaries: map-reduce with an LLM (points linked to real sentences), extractive offline, stored,
indexed as kind=summary and shown by ``course-ta summary``; budget stops and failures fall back."""

from __future__ import annotations

import json
import re

from bot.cli.demo import SAMPLE_COURSE
from bot.cli.main import main
from pipelines.domain import Sentence, Video
from pipelines.freshness.ingest import Ingestor
from pipelines.llm.cache import LLMCache
from pipelines.llm.client import LLMClient
from pipelines.llm.summaries import extractive_summary, load_summary, summarize, summary_documents
from pipelines.settings import load_settings
from tests.fakes.openai_chat import Reply
from tests.pipelines.llm.conftest import llm_settings

TOPICS = ["tokenizers split text", "embeddings map tokens", "attention mixes tokens", "the loss is cross entropy", "training uses adam"]
VIDEO = Video("vid1", "A long lecture", "https://www.youtube.com/watch?v=vid1")


def long_lecture(sentences_per_topic: int = 12) -> list[Sentence]:
    sentences = []
    for topic_index, topic in enumerate(TOPICS):
        for n in range(sentences_per_topic):
            start = (topic_index * sentences_per_topic + n) * 6.0
            sentences.append(Sentence(f"In this part {topic} and example number {n} shows how it works in practice.", start, start + 5.5))
    return sentences


def scripted_summarizer(body: dict) -> Reply:
    """Map calls: a summary and points citing real and invented sentence numbers; reduce: pick points."""
    system = body["messages"][0]["content"]
    user = body["messages"][-1]["content"]
    if "combine partial summaries" in system:
        numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", user, re.M)]
        return Reply(json.dumps({"summary": "The lecture walks from tokenizers to training.", "points": [*numbers[::2], 999]}))
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", user, re.M)]
    if not numbers:
        return Reply("{}")
    points = [{"point": f"Point about sentence {n}.", "sentence": n} for n in numbers[1::4]]
    points.append({"point": "An invented point.", "sentence": 10_000})
    return Reply(json.dumps({"summary": f"Part covering sentences {numbers[0]}-{numbers[-1]}.", "points": points}))


def test_map_reduce_links_points_to_their_sentences(chat_server, tmp_path) -> None:
    server = chat_server(scripted_summarizer)
    sentences = long_lecture()
    client = LLMClient(llm_settings(server))
    summary = summarize(VIDEO, sentences, embedder=None, client=client, cache=LLMCache(tmp_path), window_words=200)
    map_calls = len(server.requests) - 1
    assert map_calls >= 4 and "combine partial summaries" in server.requests[-1]["messages"][0]["content"]
    assert summary.method == "llm:scripted" and summary.summary == "The lecture walks from tokenizers to training."
    assert 5 <= len(summary.points) <= 10 and not summary.reasons
    for point in summary.points:
        number = int(re.search(r"sentence (\d+)", point.text).group(1))
        assert point.start_s == sentences[number - 1].start  # the moment the point comes from
    assert all("invented" not in p.text for p in summary.points)
    assert [p.start_s for p in summary.points] == sorted(p.start_s for p in summary.points)
    assert set(client.usage.to_dict()) == {"summary"}
    summarize(VIDEO, sentences, embedder=None, client=client, cache=LLMCache(tmp_path), window_words=200)
    assert len(server.requests) == map_calls + 1  # all cached: nothing paid twice


def test_bad_output_budget_and_failures_fall_back_to_extractive(chat_server, embedder) -> None:
    sentences = long_lecture(4)
    garbage = chat_server(lambda body: Reply("I am not JSON at all"))
    summary = summarize(VIDEO, sentences, embedder=embedder, client=LLMClient(llm_settings(garbage)), window_words=5000)
    assert summary.method == "extractive" and "no JSON object" in summary.reasons[0]
    broke = chat_server(scripted_summarizer)
    client = LLMClient(llm_settings(broke, llm_budget_tokens=1))
    client.chat([{"role": "user", "content": "spend the budget"}], stage="repunctuate", max_tokens=5)
    summary = summarize(VIDEO, sentences, embedder=embedder, client=client, window_words=5000)
    assert summary.method == "extractive" and "token budget" in summary.reasons[0] and len(broke.requests) == 1


def test_extractive_summary_picks_central_sentences_with_times(embedder) -> None:
    sentences = [*long_lecture(8), Sentence("Unrelated aside about the weather in California this morning, lovely.", 999.0, 1003.0)]
    summary = extractive_summary(VIDEO, sentences, embedder)
    assert summary.method == "extractive" and len(summary.points) == 5
    texts = {s.text: s.start for s in sentences}
    assert all(texts[p.text] == p.start_s for p in summary.points)
    assert all("weather" not in p.text for p in summary.points)
    assert len({p.text.split(" and ")[0] for p in summary.points}) >= 3  # spread over the topics (MMR)
    document = summary_documents(VIDEO, summary, "model")[0]
    assert document.meta["kind"] == "summary" and document.meta["video_id"] == "vid1"
    assert document.meta["sentence_starts"] == [p.start_s for p in summary.points]


def test_ingest_stores_and_indexes_summaries_and_the_cli_shows_them(capsys) -> None:
    settings = load_settings()
    ingestor = Ingestor(settings)
    ingestor.ingest([SAMPLE_COURSE])
    summary = load_summary(settings, "ct-rag-101")
    assert summary is not None and summary.title == "Retrieval-augmented generation, step by step" and summary.points
    documents = [d for d in ingestor.bundle.store.filter_documents() if d.meta["kind"] == "summary"]
    assert {d.meta["video_id"] for d in documents} == {"ct-rag-101", "ct-contrastive-201", "ct-whisper-301", "ct-voice-401"}
    assert all(set(d.meta) >= {"video_id", "title", "url", "start_s", "end_s", "kind", "source"} for d in documents)
    again = Ingestor(settings).ingest([SAMPLE_COURSE])
    assert again.count("unchanged") == 4  # stored summaries reused: identical documents
    assert main(["summary", "ct-rag-101"]) == 0
    out = capsys.readouterr().out
    assert summary.points[0].text in out and "Salient points:" in out and "(extractive)" in out
    assert main(["summary", "ct-rag-101", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["video_id"] == "ct-rag-101"
    assert main(["summary", "nope"]) == 1 and "no summary for 'nope'" in capsys.readouterr().err
    assert main(["summary", "../etc"]) == 2
