"""Every transcript shape users have, including the broken ones, read into timed segments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.corpus.transcripts import TranscriptError, parse_transcript, read_transcript
from pipelines.corpus.transcripts.sniffing import sniff_format


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_srt_with_bom_crlf_and_multiline_cues(tmp_path: Path) -> None:
    text = "\ufeff1\r\n00:00:01,000 --> 00:00:03,500\r\nFirst line\r\nsecond line\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,000\r\n<i>Tagged</i> cue\r\n"
    transcript = read_transcript(write(tmp_path, "a.srt", text))
    assert transcript.format == "srt"
    assert [(s.text, s.start, s.end) for s in transcript.segments] == [
        ("First line second line", 1.0, 3.5),
        ("Tagged cue", 4.0, 6.0),
    ]


def test_srt_without_index_lines_or_blank_lines(tmp_path: Path) -> None:
    text = "00:00:00,000 --> 00:00:02,000\nno index here\n00:00:02,000 --> 00:00:04,500\nnor here\n7\n00:00:05,000 --> 00:00:06,000\nlast"
    segments = read_transcript(write(tmp_path, "b.srt", text)).segments
    assert [(s.text, s.start) for s in segments] == [("no index here", 0.0), ("nor here", 2.0), ("last", 5.0)]


def test_srt_broken_and_backwards_timestamps_are_warned_and_kept(tmp_path: Path) -> None:
    text = "1\n00:00:05,000 --> 00:00:02,000\nbackwards\n\n2\n00:00:xx,000 --> 00:00:09,000\nbroken\n\n3\n00:00:10,000 --> 00:00:11,000\nfine\n"
    transcript = read_transcript(write(tmp_path, "c.srt", text))
    by_text = {s.text: s for s in transcript.segments}
    assert by_text["backwards"].start == 5.0 and by_text["backwards"].end == 5.0
    assert by_text["broken"].start is None
    assert by_text["fine"].start == 10.0
    joined = " ".join(transcript.warnings)
    assert "ended before they started" in joined and "unreadable timestamps" in joined


def test_webvtt_skips_notes_styles_and_inline_timestamps(tmp_path: Path) -> None:
    text = (
        "WEBVTT - lecture\nKind: captions\n\nNOTE this is a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:03.000 align:start position:0%\nhello<00:00:01.500><c> world</c>\n\n"
        "00:00:03.000 --> 00:00:05.000\nsecond cue\n"
    )
    transcript = read_transcript(write(tmp_path, "d.vtt", text))
    assert transcript.format == "webvtt"
    assert [(s.text, s.start, s.end) for s in transcript.segments] == [("hello world", 1.0, 3.0), ("second cue", 3.0, 5.0)]


def test_youtube_rolling_captions_keep_only_new_words(tmp_path: Path) -> None:
    text = (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nwe compute the gradient\n\n"
        "00:00:02.000 --> 00:00:04.000\nwe compute the gradient of the loss\n\n"
        "00:00:04.000 --> 00:00:05.000\nof the loss\n"
    )
    segments = read_transcript(write(tmp_path, "roll.vtt", text)).segments
    assert " ".join(s.text for s in segments) == "we compute the gradient of the loss"


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "x", "segments": [{"start": 0.0, "end": 2.0, "text": " Hello there."}, {"start": 2.0, "end": 3.5, "text": " General."}]},
        [["Hello there.", 0.0, 2.0], ["General.", 2.0, 3.5]],
        [{"text": "Hello there.", "start": 0.0, "duration": 2.0}, {"text": "General.", "start": 2.0, "duration": 1.5}],
        {
            "events": [
                {"tStartMs": 0, "dDurationMs": 2000, "segs": [{"utf8": "Hello "}, {"utf8": "there."}]},
                {"tStartMs": 2000},
                {"tStartMs": 2000, "dDurationMs": 1500, "segs": [{"utf8": "General."}]},
            ]
        },
    ],
    ids=["whisper", "text-start-end-lists", "youtube-transcript-api", "youtube-json3"],
)
def test_json_segment_shapes(tmp_path: Path, payload: object) -> None:
    transcript = read_transcript(write(tmp_path, "e.json", json.dumps(payload)))
    assert [(s.text, s.start, s.end) for s in transcript.segments] == [("Hello there.", 0.0, 2.0), ("General.", 2.0, 3.5)]


def test_whisper_word_timestamps_are_kept(tmp_path: Path) -> None:
    payload = {
        "segments": [
            {
                "start": 0.0,
                "end": 1.0,
                "text": "Hi all",
                "words": [{"word": " Hi", "start": 0.1, "end": 0.4}, {"word": " all", "start": 0.5, "end": 0.9}],
            }
        ]
    }
    segment = read_transcript(write(tmp_path, "w.json", json.dumps(payload))).segments[0]
    assert segment.words is not None and [(w.text, w.start) for w in segment.words] == [("Hi", 0.1), ("all", 0.5)]


def test_raw_long_line_and_fragment_lines(tmp_path: Path) -> None:
    long_line = read_transcript(write(tmp_path, "long.txt", "so today we talk about gradients " * 40))
    assert long_line.format == "text" and len(long_line.segments) == 1 and long_line.segments[0].start is None
    fragments = read_transcript(write(tmp_path, "frag.txt", "Good evening\nguys\n\nlet's start\n"))
    assert [s.text for s in fragments.segments] == ["Good evening", "guys", "let's start"]


def test_format_is_sniffed_not_taken_from_the_extension(tmp_path: Path) -> None:
    srt_named_txt = "1\n00:00:01,000 --> 00:00:02,000\nhello\n"
    assert read_transcript(write(tmp_path, "captions.txt", srt_named_txt)).format == "srt"
    assert read_transcript(write(tmp_path, "captions.srt", json.dumps([["hi", 0, 1]]))).format == "json"
    assert sniff_format("WEBVTT\n\n00:01.000 --> 00:02.000\nx", ".srt") == "webvtt"


def test_duplicate_cues_and_whisper_loops_are_collapsed() -> None:
    cues = "".join(
        f"{i}\n00:00:{i:02d},000 --> 00:00:{i + 1:02d},000\n{text}\n\n"
        for i, text in enumerate(
            ["We start now.", "We start now.", "Thank you so much. " * 6, "Then the gradient flows back.", "no, no, no, we stop"], start=1
        )
    )
    transcript = parse_transcript(cues, ".srt")
    texts = [s.text for s in transcript.segments]
    assert texts == ["We start now.", "Thank you so much.", "Then the gradient flows back.", "no, no, no, we stop"]
    assert transcript.segments[0].end == 3.0  # the duplicate's time is merged, not lost
    assert any("collapsed" in w for w in transcript.warnings)


def test_sound_annotations_are_not_speech() -> None:
    transcript = parse_transcript("1\n00:00:01,000 --> 00:00:03,000\n(subtle blast) [Music] - Welcome to the (PyTorch) course ♪\n", ".srt")
    assert transcript.segments[0].text == "Welcome to the (PyTorch) course"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.srt", b"", "empty"),
        ("blank.txt", b"   \n\n  ", "empty"),
        ("garbage.srt", bytes(range(256)) * 8, "binary"),
        ("zeros.json", b"\x00\x01\x02\x03" * 100, "binary"),
        ("bad.json", b'{"segments": [', "invalid JSON"),
        ("nothing.json", b"[]", "no segments"),
        ("nocues.srt", b"1\n00:00:01,000 --> 00:00:02,000\n\n", "no cues"),
    ],
)
def test_unreadable_files_get_a_clear_error(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        read_transcript(write(tmp_path, name, data))


def test_non_utf8_text_is_decoded_with_a_warning(tmp_path: Path) -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nLa r\u00e9gression na\u00efve co\u00fbte cher, na\u00efvement.\n"
    transcript = read_transcript(write(tmp_path, "latin.srt", text.encode("cp1252")))
    assert transcript.segments[0].text == "La r\u00e9gression na\u00efve co\u00fbte cher, na\u00efvement."
    assert "not UTF-8" in transcript.warnings[0]


def test_the_raw_shapes_in_shared_seeds(seeds: Path) -> None:
    brief = read_transcript(seeds / "project-brief-lecture.txt")
    assert brief.format == "text" and len(brief.segments) == 1 and len(brief.segments[0].text.split()) > 2500
    fragments = read_transcript(seeds / "whisper-lecture-fragments.txt")
    assert fragments.format == "text" and len(fragments.segments) > 400
    srt = read_transcript(seeds / "audio-ml-lecture.srt")
    assert srt.format == "srt" and srt.timed
    starts = [s.start for s in srt.segments]
    assert starts == sorted(starts) and srt.segments[0].text.startswith("the tasks")


def test_every_file_of_the_shared_corpus_reads(corpus: Path) -> None:
    failures = {}
    read = 0
    for path in sorted(corpus.glob("*/*")):
        if path.suffix not in (".srt", ".json"):
            continue
        try:
            transcript = read_transcript(path)
        except TranscriptError as error:
            failures[path.name] = str(error)
            continue
        read += 1
        assert transcript.timed, path
    assert read >= 390
    # The only unreadable files are real empty sentence-timing exports; their SRT twins are read instead.
    assert failures and all(name.endswith(".sentence_timings.json") and "no segments" in why for name, why in failures.items()), failures
