"""The whole Hugging Face course indexed, and student questions answered with the right moment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answering.service import AnswerService
from bot.cli.main import main
from pipelines.domain import Citation
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings

# (question as a student would ask it, {video that answers it: window in seconds where the answer is said})
QUESTIONS = [
    ("How is perplexity related to the cross-entropy loss of a language model?", {"NURcDHhYe98": (60, 130)}),
    ("Why would I pad each batch only to its longest sequence instead of padding the whole dataset?", {"7q5NyFT8REg": (30, 125)}),
    ("Does the cloud region where I train a model change its carbon emissions?", {"ftWlj4FBHTg": (70, 180)}),
    ("How does the BLEU metric compare a translation to the reference?", {"M05L1DhFqcw": (20, 95)}),
    # Three lectures answer this one, each in its first minute.
    (
        "What steps does the pipeline function run before and after the model?",
        {"tiZFewofSLM": (0, 60), "1pedAIvTWXk": (0, 60), "wVN12smEvqg": (0, 60)},
    ),
]
NOT_COVERED = [
    "Who won the 2018 football World Cup?",
    "What is a good recipe for sourdough bread?",
    "How do I configure a Kubernetes ingress controller?",
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hf-course"
    if not (corpus / "manifest.csv").exists():
        pytest.skip("../shared/corpus is not present")
    data_dir = tmp_path_factory.mktemp("hf-course-index")
    report = Ingestor(load_settings(data_dir=data_dir)).ingest([corpus])
    assert report.count("added") == 82 and report.count("failed") == 0
    return data_dir


@pytest.fixture(scope="module")
def service(indexed: Path) -> AnswerService:
    return AnswerService(load_settings(data_dir=indexed))


def _quoted_sentences(service: AnswerService, citation: Citation) -> tuple[float | None, float | None]:
    """Where the quote sits in the cited video's indexed chunks: (start of its first sentence, end of its last).

    Read from the stored chunk text and its per-sentence meta (``sentence_offsets``/``_starts``/``_ends``),
    the contract the answerer cites from; fails when the quote is not a run of whole sentences of that video.
    """
    chunks = service.bundle.store.filter_documents(
        {
            "operator": "AND",
            "conditions": [
                {"field": "meta.video_id", "operator": "==", "value": citation.video_id},
                {"field": "meta.kind", "operator": "==", "value": "chunk"},
            ],
        }
    )
    for chunk in chunks:
        text, meta = chunk.content or "", chunk.meta
        offsets = list(meta["sentence_offsets"])
        begin = text.find(citation.quote)
        end = begin + len(citation.quote)
        if begin < 0 or begin not in offsets or not (end == len(text) or end + 1 in offsets):
            continue
        first, last = offsets.index(begin), max(i for i, offset in enumerate(offsets) if offset < end)
        return meta["sentence_starts"][first], meta["sentence_ends"][last]
    raise AssertionError(f"the quote is not whole sentences of {citation.video_id}'s transcript: {citation.quote!r}")


@pytest.mark.parametrize(("question", "expected"), QUESTIONS, ids=[next(iter(q[1])) for q in QUESTIONS])
def test_question_cites_the_right_video_at_the_right_moment(service: AnswerService, question: str, expected: dict) -> None:
    answer = service.answer(question)
    assert answer.grounded, answer.text
    top3 = answer.citations[:3]
    hits = [c for c in top3 if c.video_id in expected]
    assert hits, [(c.video_id, c.title) for c in top3]
    citation = hits[0]
    low, high = expected[citation.video_id]
    assert low <= citation.start_s <= high, (citation.start_s, citation.quote)
    assert citation.url == f"https://www.youtube.com/watch?v={citation.video_id}&t={int(citation.start_s)}s"
    # The cited second is where the quoted sentence begins, and the end where the quoted passage ends.
    assert (citation.start_s, citation.end_s) == _quoted_sentences(service, citation), citation.quote
    assert citation.end_s is not None and citation.end_s >= citation.start_s


@pytest.mark.parametrize("question", NOT_COVERED)
def test_questions_outside_the_course_are_declined(service: AnswerService, question: str) -> None:
    answer = service.answer(question)
    assert not answer.grounded
    assert answer.citations == []
    assert "don't seem to cover" in answer.text


def test_ask_json_contract_from_the_cli(indexed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(indexed))
    assert main(["ask", "--json", QUESTIONS[0][0]]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload) == ["question", "answer", "grounded", "citations", "backend"]
    assert payload["backend"] == {"store": "embedded", "answerer": "offline-extractive"}
    assert payload["grounded"] is True
    for citation in payload["citations"]:
        assert list(citation) == ["video_id", "title", "url", "start_s", "end_s", "score", "quote"]
    scores = [c["score"] for c in payload["citations"]]
    assert scores == sorted(scores, reverse=True)
    assert payload["citations"][0]["title"] == "What is perplexity?"


def test_ask_batch_prints_one_json_object_per_line(
    indexed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(indexed))
    questions = tmp_path / "questions.txt"
    questions.write_text(f"{QUESTIONS[1][0]}\n\n{NOT_COVERED[0]}\n{'x' * 5000}\n")
    assert main(["ask", "--batch", str(questions)]) == 1  # one line was too long
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("grounded") for line in lines] == [True, False, None]
    assert "limit is 4,000" in lines[2]["error"]
