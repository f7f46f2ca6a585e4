"""`course-ta ask` on hostile input: undecodable bytes, lone surrogates, invisible characters, an unreachable
store. Every case ends in an answer or one clear line, never a traceback, and a batch always goes on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.bot.slack.slack_constants import closed_port
from tests.fakes.elasticsearch_wire import Cluster, WireServer

QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    # As the interpreter sets stdin up: UTF-8 text over a binary buffer.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_batch_with_undecodable_lines_answers_every_other_line(
    sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(sample_data_dir))
    _stdin(
        monkeypatch, QUESTION.encode() + b"\n\xff\xfe\n" + b"What is rank fusion? \xff\n\x00\xe2\x80\x8b\xe2\x80\xae\nWhat is a triplet?\n"
    )
    assert main(["ask", "--batch", "-"]) == 1  # some lines could not be used
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    first, bad, cleaned, invisible, last = _lines(out)
    assert first["question"] == QUESTION and first["citations"]
    assert "line 2 is not valid UTF-8" in bad["error"] and "no readable text" in bad["error"]
    assert cleaned["question"] == "What is rank fusion?" and "answer" in cleaned  # the bad byte is dropped, the question answered
    assert "no readable text" in invisible["error"]
    assert last["question"] == "What is a triplet?" and "answer" in last


def test_a_batch_file_that_is_not_utf8_still_answers_its_good_lines(
    sample_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(sample_data_dir))
    batch = tmp_path / "questions.txt"
    batch.write_bytes(b"\xc3\x28 caf\xe9\r\n" + QUESTION.encode() + b"\r\n")
    assert main(["ask", "--batch", str(batch)]) == 0
    first, second = _lines(capsys.readouterr().out)
    assert first["question"] == "( caf" and "answer" in first
    assert second["question"] == QUESTION and second["citations"]


def test_lone_surrogates_in_a_question_are_cleaned_or_refused(
    sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(sample_data_dir))
    # What the interpreter makes of undecodable bytes in argv (surrogateescape).
    assert main(["ask", "--json", "What is rank\udcff fusion?\ud800"]) == 0
    assert json.loads(capsys.readouterr().out)["question"] == "What is rank fusion?"
    assert main(["ask", "\udcff\u200b\x00"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "no readable text" in err and "Traceback" not in err


def test_asking_an_empty_index_exits_2_and_says_how_to_fill_it(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["ask", "What is attention?"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "nothing is indexed yet" in err and "course-ta ingest PATH" in err
    _stdin(monkeypatch, b"What is attention?\nWhat is a tokenizer?\n")
    assert main(["ask", "--batch", "-"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("nothing is indexed yet") == 1  # said once, not once per line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "course-ta 0.1.0"
    with pytest.raises(SystemExit) as stop:  # argparse's own flag says the same, e.g. after -v
        main(["-v", "--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == "course-ta 0.1.0"


@pytest.mark.parametrize("command", [["status"], ["ask", QUESTION]])
def test_an_unreachable_elasticsearch_is_one_line_without_credentials(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_TA_ELASTICSEARCH_URL", f"http://elastic:s3cret-pw@127.0.0.1:{closed_port()}")
    monkeypatch.setenv("COURSE_TA_ELASTICSEARCH_MAX_RETRIES", "0")
    assert main(command) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "cannot be reached" in err and "docker compose" in err and "COURSE_TA_ELASTICSEARCH_URL" in err
    assert "s3cret-pw" not in err and "elastic:" not in err and "Traceback" not in err


def test_refused_elasticsearch_credentials_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with WireServer(Cluster(password="right")) as es:
        monkeypatch.setenv("COURSE_TA_ELASTICSEARCH_URL", es.url.replace("http://", "http://elastic:wrong-pw@"))
        assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "rejected the credentials (401)" in err and "COURSE_TA_ELASTICSEARCH_API_KEY" in err
    assert "wrong-pw" not in err and len(err.strip().splitlines()) == 1
