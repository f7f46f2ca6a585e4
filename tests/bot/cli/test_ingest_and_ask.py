"""The CLI on bad input: every broken file gets its own message, the rest is still ingested."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli.demo import SAMPLE_COURSE
from bot.cli.main import main

GOOD_SRT = "1\n00:00:01,000 --> 00:00:04,000\nAttention lets every token look at every other token.\n\n2\n00:00:04,500 --> 00:00:08,000\nThe softmax turns the scores into weights.\n"


def test_a_batch_with_broken_files_ingests_the_rest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good1.srt").write_text(GOOD_SRT)
    (folder / "good2.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:03.000\nResiduals keep gradients flowing through deep networks.\n")
    (folder / "empty.srt").write_bytes(b"")
    (folder / "garbage.srt").write_bytes(bytes(range(256)) * 20)
    (folder / "latin.srt").write_bytes(GOOD_SRT.replace("token", "t\u00f6ken").encode("cp1252"))
    (folder / "broken.srt").write_text("1\n00:00:09,000 --> 00:00:03,000\nBackwards but readable.\n")
    (folder / "nomanifestrow.txt").write_text("just some words spoken in a lecture about layer normalisation")
    (folder / "slides.pdf").write_bytes(b"%PDF-1.4")
    (folder / "manifest.csv").write_text(
        "video_id,title,url\n"
        "good1,Attention,https://www.youtube.com/watch?v=good1\n"
        "good2,Residuals,https://www.youtube.com/watch?v=good2\n"
        "empty,Empty,https://www.youtube.com/watch?v=empty\n"
        "garbage,Garbage,\n"
        "latin,Latin,\n"
        "broken,Broken,\n"
        "missing,A row without a file,\n"
        ",no id,\n"
    )
    assert main(["ingest", str(folder), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "failed: empty.srt: file is empty" in err
    assert "failed: garbage.srt: file looks binary" in err
    assert "latin.srt: not UTF-8" in err
    assert "broken.srt: 1 cue(s) ended before they started" in err
    assert "nomanifestrow: no row in manifest.csv" in err
    assert "1 row(s) without a file: missing" in err
    assert "row without video_id skipped" in err
    assert "slides.pdf" not in err  # unrelated files in a folder are not transcripts
    assert "5 added" in out and "2 failed" in out


def test_nothing_ingestable_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.srt"
    empty.write_text("")
    assert main(["ingest", str(empty), str(tmp_path / "does-not-exist")]) == 1
    err = capsys.readouterr().err
    assert "failed: empty.srt: file is empty" in err
    assert "does-not-exist: no such file or folder" in err


def test_an_explicit_manifest_names_the_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "abc.srt").write_text(GOOD_SRT)
    manifest = tmp_path / "elsewhere.csv"
    manifest.write_text("video_id,title,url\nabc,Self-attention explained,https://www.youtube.com/watch?v=abc\n")
    assert main(["ingest", str(tmp_path / "abc.srt"), "--manifest", str(manifest)]) == 0
    capsys.readouterr()
    assert main(["ask", "--json", "How does attention turn scores into weights?"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["grounded"] is True
    citation = payload["citations"][0]
    assert citation["title"] == "Self-attention explained"
    assert citation["url"] == "https://www.youtube.com/watch?v=abc&t=4s"
    assert citation["start_s"] == 4.5 and citation["end_s"] == 8.0


@pytest.mark.parametrize(("question", "message"), [("   ", "The question is empty"), ("q" * 4001, "the limit is 4,000")])
def test_bad_questions_get_a_clear_error(question: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", question]) == 2
    assert message in capsys.readouterr().err


def test_asking_an_empty_index_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "What is attention?"]) == 2  # nothing to answer from: a setup problem, like a broken store
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert payload["grounded"] is False and "Nothing is indexed yet" in payload["answer"]
    assert "course-ta ingest PATH" in err


def test_demo_indexes_the_sample_course_and_answers_with_links(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    demo_dir = tmp_path / "data" / "demo"
    assert f"into the demo data dir {demo_dir}" in out  # it says where it wrote
    assert "4 added" in out
    assert "Reciprocal rank fusion" in out
    assert f"{(SAMPLE_COURSE / 'ct-rag-101.srt').as_uri()}#t=" in out
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(demo_dir))
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "videos:     4" in status and "embedded" in status


def test_demo_leaves_a_real_course_alone(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    course = tmp_path / "course"
    course.mkdir()
    (course / "attention.srt").write_text(GOOD_SRT)
    (course / "residuals.srt").write_text(GOOD_SRT.replace("Attention", "Residual connections").replace("token", "layer"))
    assert main(["ingest", str(course), "--no-progress"]) == 0
    assert main(["demo"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert f"videos:     {len(list(course.glob('*.srt')))} " in capsys.readouterr().out  # no sample lecture joined the course
    assert main(["ask", "--json", "How does reciprocal rank fusion combine BM25 and dense retrieval?"]) == 0
    cited = {c["video_id"] for c in json.loads(capsys.readouterr().out)["citations"]}
    assert not any(video_id.startswith("ct-") for video_id in cited)

    elsewhere = tmp_path / "elsewhere"
    assert main(["demo", "--data-dir", str(elsewhere)]) == 0
    assert f"into the demo data dir {elsewhere}" in capsys.readouterr().out
    assert (elsewhere / "store" / "documents.npz").is_file()


def test_ask_without_a_question_says_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask"]) == 2
    assert "give a question (or --batch FILE)" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "COURSE_TA_DATA_DIR": str(tmp_path / "data")}
    # `models list` on an empty data dir prints one line; the pipe is closed before it is written.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "models", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    error = process.stderr.read().decode()
    assert process.wait(timeout=100) == 141
    assert "Traceback" not in error and "BrokenPipeError" not in error


def test_demo_runs_beside_a_deployment_of_several_courses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "courses.toml").write_text(
        '# two courses\n[[course]]\nid = "nlp"\ntitle = "NLP"\n\n[[course]]\nid = "vision"\ntitle = "Vision"\n', encoding="utf-8"
    )
    assert main(["demo"]) == 0  # no "choose one with --course": the demo belongs to no course
    assert f"into the demo data dir {data / 'demo'}" in capsys.readouterr().out
    assert main(["--course", "nlp", "demo", "--data-dir", str(tmp_path / "elsewhere")]) == 0
    assert "Reciprocal rank fusion" in capsys.readouterr().out
    assert not (data / "courses" / "nlp" / "store").exists()  # nothing was written into a course


def test_asking_an_empty_course_of_several_names_it_in_the_ingest_hint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "courses.toml").write_text('[[course]]\nid = "nlp"\ntitle = "NLP"\n\n[[course]]\nid = "vision"\ntitle = "Vision"\n')
    assert main(["ask", "--course", "vision", "What is a convolution?"]) == 2
    assert "run `course-ta ingest PATH --course vision`" in capsys.readouterr().err
