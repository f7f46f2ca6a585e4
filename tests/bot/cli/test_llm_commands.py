"""`course-ta llm-data` on the sample index (data invariants) and `course-ta eval` on a file that is not UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from pipelines.llm.prompts import ANSWER_SYSTEM
from pipelines.llm.tuning.examples import DECLINE_REPLY, HELD_OUT, TRAIN, check_reply, read_examples


@pytest.mark.timeout(300)
def test_llm_data_cites_only_present_passages_holds_lectures_out_and_has_declines(
    sample_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "examples.jsonl"
    code = main(["llm-data", "-o", str(out), "--max-examples", "30", "--held-out-share", "0.25", "--offline"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    examples = read_examples(out)
    assert examples and "held-out lectures:" in printed.out
    held = {e.video_id for e in examples if e.split == HELD_OUT and e.video_id}
    trained = {e.video_id for e in examples if e.split == TRAIN and e.video_id}
    assert held and trained and not held & trained, "a held-out lecture never gives a training example"
    for e in examples:
        assert e.prompt[0] == {"role": "system", "content": ANSWER_SYSTEM} and e.prompt[-1]["role"] == "user"
        assert e.prompt[-1]["content"].count("\n[") + e.prompt[-1]["content"].startswith("<passages>\n[") >= len(e.passages) >= 1
        cited, valid = check_reply(e.target, len(e.passages))
        if e.answerable:
            assert valid and cited and set(cited) <= set(range(1, len(e.passages) + 1)), e.target
            assert set(cited) & set(e.gold), "an answer cites a passage that holds the answer"
        else:
            assert e.target == DECLINE_REPLY and e.gold == []
    sources = {e.source for e in examples if not e.answerable}
    assert sources & {"other-lecture", "off-topic"}, "unanswerable examples are present"
    assert any(not e.answerable for e in examples if e.split == TRAIN)


def test_eval_questions_that_are_not_utf8_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_bytes(json.dumps({"question": "what is caf\u00e9 attention?", "video_id": "v"}).encode("cp1252") + b"\n\xff\xfe\n")
    assert main(["eval", "--questions", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not UTF-8" in err and "Traceback" not in err


def test_eval_answers_on_a_file_that_is_no_example_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"question": "q"}\n')
    assert main(["eval", "--answers", str(path)]) == 2
    assert "not an example of `course-ta llm-data`" in capsys.readouterr().err
