"""Hostile input: a folder of broken, malicious and mislabelled files next to good ones, ingested in one run.

The corpus is built here, by code (nothing committed): every bad file must be reported with a reason
(as its video's failure, or as a warning naming the file when its video is still indexed from another
file), every good file must be indexed, and nothing may be lost between the two.
"""

from __future__ import annotations

import json
import os
import random
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.corpus.discovery import Findings, discover
from pipelines.corpus.transcripts import TranscriptError, read_transcript
from pipelines.freshness.faults import VideoFailure
from pipelines.freshness.ingest import Ingestor, IngestReport
from pipelines.settings import load_settings

RNG_SEED = 16
LECTURE = (
    "Today we look at gradient descent. The loss tells us how wrong the model is. "
    "We follow the negative gradient to make the loss smaller. The learning rate sets the step size."
)
HTML_429 = (
    "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Error 429 (Too Many Requests)!!1</title></head>"
    "<body><p><b>429.</b> That's an error.</p><p>We're sorry, but you have sent too many requests to us recently.</p></body></html>\n"
)
HTML_BARE = "<html><head><script>var a=1;</script></head><body>Sign in to continue</body></html>"
XML_TTML = '<?xml version="1.0" encoding="utf-8"?>\n<tt xmlns="http://www.w3.org/ns/ttml"><body><p begin="0s">hi</p></body></tt>\n'


def srt(text: str = LECTURE, step: float = 3.0) -> str:
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    blocks = []
    for i, sentence in enumerate(sentences):
        start, end = i * step, (i + 1) * step
        blocks.append(f"{i + 1}\n{_tc(start)} --> {_tc(end)}\n{sentence}\n")
    return "\n".join(blocks)


def _tc(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def vtt(text: str = LECTURE) -> str:
    return "WEBVTT\n\n" + srt(text).replace(",", ".")


def whisper_json(text: str = LECTURE) -> str:
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    return json.dumps({"segments": [{"start": i * 3.0, "end": i * 3.0 + 3, "text": s} for i, s in enumerate(sentences)]})


@dataclass
class Corpus:
    """What the test expects of every path it made."""

    root: Path
    bad: dict[Path, str] = field(default_factory=dict)  # file → words its reason must contain
    salvaged: dict[str, str] = field(default_factory=dict)  # video id → words of the warning it must carry
    good: set[str] = field(default_factory=set)  # video ids that must be indexed cleanly
    paired: dict[str, Path] = field(default_factory=dict)  # video id indexed from this file despite a bad sibling

    @property
    def files_tried(self) -> int:
        return len(self.bad) + len(self.salvaged) + len(self.good) + len(self.paired)


def build_corpus(root: Path) -> Corpus:
    rng = random.Random(RNG_SEED)
    corpus = Corpus(root)
    folder = root / "course"
    folder.mkdir(parents=True)

    def put(name: str, data: str | bytes, where: Path = folder) -> Path:
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def bad(name: str, data: str | bytes | Callable[[Path], None], reason: str, where: Path = folder) -> None:
        if callable(data):
            path = where / name
            data(path)
        else:
            path = put(name, data, where)
        corpus.bad[path] = reason

    def junk(size: int) -> bytes:
        data = bytes(rng.getrandbits(8) for _ in range(size))
        return b"\x13\x37" + data[2:]  # never a container signature or BOM by chance

    transcript_suffixes = (".json", ".srt", ".vtt", ".txt")
    for n, suffix in enumerate(transcript_suffixes):
        tag = suffix[1:]
        bad(f"empty_{tag}{suffix}", b"", "empty")
        bad(f"blank_{tag}{suffix}", b"  \n\n\t \r\n", "empty")
        bad(f"nul_only_{tag}{suffix}", b"\x00" * 4096, "binary")
        bad(f"nul_inside_{tag}{suffix}", srt().encode()[:60] + b"\x00\x00" + srt().encode()[60:], "binary")
        bad(f"random_{tag}{suffix}", junk(3000 + n), "binary")
        bad(f"ansi_{tag}{suffix}", ("\x1b[31m\x07\x08" * 400).encode(), "binary")
        bad(f"html429_{tag}{suffix}", HTML_429, "HTML")
        bad(f"htmlbare_{tag}{suffix}", HTML_BARE, "HTML")
        bad(f"xml_{tag}{suffix}", XML_TTML, "HTML/XML")
        bad(f"utf32_{tag}{suffix}", srt().encode("utf-32-le"), "binary")
        bad(f"sparse_{tag}{suffix}", lambda p: p.open("wb").truncate(17 * 1024 * 1024), "MiB")
    # The report the issue was filed with: a 30 MB transcript.
    bad("thirty_mb.srt", (srt() + "\n") * (30 * 1024 * 1024 // len(srt()) + 1), "larger than 16 MiB")
    bad("deep_list.json", "[" * 10_000 + "]" * 10_000, "nested too deeply")
    bad("deep_object.json", '{"a":' * 5000 + "1" + "}" * 5000, "nested too deeply")
    bad("deep_named_txt.txt", "[" * 10_000 + "]" * 10_000, "nested too deeply")
    bad("deep_segments.json", '{"segments": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply")
    bad("huge_line.txt", "word " * 250_000, "characters long")
    bad("huge_line.srt", "1\n00:00:01,000 --> 00:00:02,000\n" + "x" * 1_200_000 + "\n", "characters long")
    bad("huge_line.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n" + "y" * 1_200_000 + "\n", "characters long")
    bad("huge_int.json", "[[" + '"hi", ' + "9" * 5000 + "]]", "invalid JSON")
    bad("truncated.json", whisper_json()[:40], "invalid JSON")
    bad("number.json", "42", "named .json but holds no JSON")
    bad("string.json", '"just a string"', "named .json but holds no JSON")
    bad("json_scalar_named_txt.txt", "[42]", "no segments")
    bad("json_true.txt", '{"segments": true}', "no 'segments'")
    bad("object_without_segments.json", '{"foo": [1, 2]}', "no 'segments'")
    bad("segments_not_list.json", '{"segments": "nope"}', "no 'segments'")
    bad("empty_list.json", "[]", "no segments")
    bad("numbers_list.json", "[1, 2, 3]", "no segments")
    bad("nulls.json", "[null, null]", "no segments")
    bad("text_not_string.json", '{"segments": [{"text": 5, "start": 0}]}', "no segments")
    bad("plain_in_json.json", "Too Many Requests\nPlease try again later.\n", "named .json but holds no JSON")
    bad("plain_in_srt.srt", LECTURE, "named .srt but holds no SubRip")
    bad("plain_in_vtt.vtt", LECTURE, "named .vtt but holds no WebVTT")
    bad("truncated_header.srt", "1\n00:00:0", "named .srt but holds no SubRip")
    bad("timings_only.srt", "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:02,000 --> 00:00:03,000\n\n", "no cues")
    bad("vtt_without_header.vtt", "00:01.000 --> 00:02.000\nhello there\n", "must start with 'WEBVTT'")
    bad("only_annotations.srt", "1\n00:00:01,000 --> 00:00:02,000\n[Music]\n\n2\n00:00:02,000 --> 00:00:03,000\n♪ ♪\n", "no text")
    bad("nan_json_numbers.json", '[["", NaN, Infinity]]', "no segments")

    # Encodings and damaged timing that can still be read: indexed, with a warning naming what was wrong.
    def salvage(name: str, data: str | bytes, warning: str) -> None:
        put(name, data)
        corpus.salvaged[name.split(".", 1)[0]] = warning

    salvage("utf16le_nobom.srt", srt().encode("utf-16-le"), "UTF-16 without a byte-order mark")
    salvage("utf16be_nobom.vtt", vtt().encode("utf-16-be"), "UTF-16 without a byte-order mark")
    salvage("latin1.srt", srt("Le café coûte cher. La régression naïve est lente. " * 3).encode("latin-1"), "not UTF-8")
    salvage("invalid_utf8.txt", LECTURE.encode() + b" caf\xe9 \xff\xfe\xfa end.", "not UTF-8")
    salvage("out_of_order.srt", srt().replace("00:00:06,000 --> 00:00:09,000", "00:00:00,500 --> 00:00:01,000"), "go backwards")
    salvage(
        "negative_times.srt", srt().replace("00:00:03,000 --> 00:00:06,000", "-00:00:03,000 --> -00:00:01,000"), "unreadable timestamps"
    )
    salvage("nan_times.srt", srt().replace("00:00:03,000 --> 00:00:06,000", "NaN --> NaN"), "unreadable timestamps")
    salvage("huge_times.srt", srt().replace("00:00:03,000 --> 00:00:06,000", "999:00:00,000 --> 999:00:01,000"), "unreadable timestamps")
    salvage("backwards_cue.srt", srt().replace("00:00:03,000 --> 00:00:06,000", "00:00:06,000 --> 00:00:03,000"), "ended before")
    salvage("truncated_mid_timing.srt", srt() + "\n9\n00:00:30,000 --> 00:0", "ended before")
    salvage(
        "bad_json_times.json",
        json.dumps([["First we look at losses.", -5, 2], ["Then gradients.", 1e300, 1e301], ["Then steps.", "NaN", "inf"]]),
        "impossible times",
    )
    salvage("nan_literal_times.json", '[["First we look at losses.", NaN, Infinity], ["Then gradients.", 1, 2]]', "impossible times")

    # Not files at all, or files that cannot be opened.
    (folder / "dir_named.srt").mkdir()
    corpus.bad[folder / "dir_named.srt"] = "folder named like"
    (folder / "dir_named_media.mp4").mkdir()
    corpus.bad[folder / "dir_named_media.mp4"] = "folder named like"
    os.symlink("loop_b.srt", folder / "loop_a.srt")
    os.symlink("loop_a.srt", folder / "loop_b.srt")
    os.symlink("self_loop.vtt", folder / "self_loop.vtt")
    os.symlink("nowhere.srt", folder / "dangling.srt")
    os.symlink("nowhere.mp3", folder / "dangling_media.mp3")
    for name, reason in (
        ("loop_a.srt", "link loop"),
        ("loop_b.srt", "link loop"),
        ("self_loop.vtt", "link loop"),
        ("dangling.srt", "broken symbolic link"),
        ("dangling_media.mp3", "broken symbolic link"),
    ):
        corpus.bad[folder / name] = reason
    os.mkfifo(folder / "pipe.srt")
    os.mkfifo(folder / "pipe_media.wav")
    os.symlink("/dev/zero", folder / "devzero.json")
    os.symlink("/dev/urandom", folder / "devrandom.mp4")
    for name in ("pipe.srt", "pipe_media.wav", "devzero.json", "devrandom.mp4"):
        corpus.bad[folder / name] = "not a regular file"
    put("no_id_sibling.srt", srt())  # a good file, so the nameless one below is judged on its own
    corpus.good.add("no_id_sibling")
    bad(" .srt", srt(), "no video id")
    if os.geteuid() != 0:  # root reads anything: the permission case is only meaningful for a normal user
        locked = put("locked.srt", srt())
        locked.chmod(0)
        corpus.bad[locked] = "Permission denied"

    # Media: junk under every media name, rejected at listing (no model is loaded for them).
    for suffix in (".mp3", ".wav", ".mp4", ".mkv", ".webm", ".m4a", ".ogg"):
        tag = suffix[1:]
        bad(f"media_empty_{tag}{suffix}", b"", "empty")
        bad(f"media_zeros_{tag}{suffix}", b"\x00" * 8192, "zero bytes")
        bad(f"media_random_{tag}{suffix}", junk(50_000), "no audio/video container signature")
        bad(f"media_html_{tag}{suffix}", HTML_429, "HTML")
        bad(f"media_text_{tag}{suffix}", "ERROR: unable to download video data: HTTP Error 403: Forbidden\n", "is text")

    # The two bugs the issue names: a junk richer transcript must not replace a good SRT, and junk media beside a transcript.
    put("vid429.srt", srt())
    corpus.paired["vid429"] = folder / "vid429.srt"
    bad("vid429.sentence_timings.json", HTML_429, "HTML")
    put("junkmedia.srt", srt())
    corpus.paired["junkmedia"] = folder / "junkmedia.srt"
    bad("junkmedia.mp4", junk(20_000), "no audio/video container signature")
    put("bigjson.srt", srt())
    corpus.paired["bigjson"] = folder / "bigjson.srt"
    bad("bigjson.json", lambda p: p.open("wb").truncate(40 * 1024 * 1024), "larger than 16 MiB")

    # The same video id in two folders: the first folder wins, the other file is named as ignored.
    put("twin.srt", srt(), folder / "a_first")
    corpus.paired["twin"] = folder / "a_first" / "twin.srt"
    bad("twin.srt", srt("A different lecture about convolution. Kernels slide over images."), "ignoring", where=folder / "b_second")

    # Manifests, each in its own folder beside one good transcript (which must still be indexed).
    def manifest_case(tag: str, data: str | bytes | Callable[[Path], None], reason: str) -> None:
        where = root / f"manifest_{tag}"
        put(f"m_{tag}.srt", srt(), where)
        corpus.good.add(f"m_{tag}")
        bad("manifest.csv", data, reason, where=where)

    manifest_case("no_id_column", "name,title\nx,y\n", "no 'video_id' column")
    manifest_case("huge_field", 'video_id,title\nm_huge_field,"' + "t" * 200_000 + '"\n', "not valid CSV")
    manifest_case("open_quote", 'video_id,title,url\nm_open_quote,"Never closed,https://x\nrow2,b,c\n', "manifest")
    manifest_case("long_title", "video_id,title\nm_long_title," + "T" * 5000 + "\n", "longer than 2000")
    manifest_case("binary", junk(4000), "cannot read manifest")
    manifest_case("nul", b"video_id,title\nm_nul,A\x00B\n", "cannot read manifest")
    manifest_case("empty", b"", "cannot read manifest")
    manifest_case("html", HTML_429, "no 'video_id' column")
    manifest_case("bad_url", "video_id,title,url\nm_bad_url,Title,javascript:alert(1)\n", "not http(s)")
    manifest_case("duplicate", "video_id,title\nm_duplicate,One\nm_duplicate,Two\n", "duplicate video_id")
    manifest_case("directory", lambda p: p.mkdir(), "not a regular file")
    manifest_case("loop", lambda p: os.symlink("manifest.csv", p), "not a regular file")
    manifest_case("sparse", lambda p: p.open("wb").truncate(9 * 1024 * 1024), "MiB")

    # Good files of every kind, including ones a naive reader would trip on.
    put("good_srt.srt", srt())
    put("good_vtt.vtt", vtt())
    put("good_whisper.json", whisper_json())
    put("good_timings.sentence_timings.json", json.dumps([[s, i * 2.0, i * 2.0 + 2] for i, s in enumerate(LECTURE.split(". "))]))
    put("good_text.txt", LECTURE)
    put("good_bom.srt", "\ufeff" + srt().replace("\n", "\r\n"))
    put("good_utf16bom.srt", srt().encode("utf-16"))
    put("good unicode ü.srt", srt("Über die Lernrate sprechen wir heute. Sie ist wichtig."))
    put("good_media.srt", srt())
    with wave.open(str(folder / "good_media.wav"), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(16_000)
        audio.writeframes(b"\x00\x00" * 16_000)
    corpus.good |= {"good_srt", "good_vtt", "good_whisper", "good_timings", "good_text", "good_bom", "good_utf16bom"}
    corpus.good |= {"good unicode ü", "good_media"}
    return corpus


def _everything_said(report: IngestReport) -> list[tuple[str, str]]:
    """(file or video named, text) for every failure and warning of the run."""
    said = [("", warning) for warning in report.warnings]
    for outcome in report.outcomes:
        name = str(outcome.path) if outcome.path else outcome.video_id
        if outcome.status == "failed":
            said.append((name, outcome.reason))
        said.extend((name, warning) for warning in outcome.warnings)
    return said


def _reported(path: Path, reason: str, said: list[tuple[str, str]]) -> bool:
    wanted = reason.lower()
    for named, text in said:
        if wanted not in text.lower():
            continue
        by_name = path.name.strip() and path.name != "manifest.csv" and path.name in text
        if named == str(path) or str(path) in text or by_name:
            return True
    return False


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return build_corpus(tmp_path / "input")


@pytest.mark.timeout(600)
def test_one_ingest_reports_every_hostile_file_and_indexes_every_good_one(corpus: Corpus) -> None:
    assert len(corpus.bad) >= 100
    settings = load_settings()
    ingestor = Ingestor(settings)
    report = ingestor.ingest([corpus.root])  # one run over everything; it must come back

    said = _everything_said(report)
    unreported = {str(path): reason for path, reason in corpus.bad.items() if not _reported(path, reason, said)}
    assert not unreported, (unreported, said)
    for named, text in said:  # every reason is one line a terminal can show
        assert "\n" not in text and len(text) < 1000, (named, text[:200])

    held = set(ingestor.bundle.ids_by_video())
    by_video = {o.video_id: o for o in report.outcomes if o.status != "failed"}
    missing = sorted((corpus.good | set(corpus.salvaged) | set(corpus.paired)) - held)
    assert not missing, (missing, [o for o in report.outcomes if o.video_id in missing])
    for video_id, warning in corpus.salvaged.items():
        assert any(warning.lower() in w.lower() for w in by_video[video_id].warnings), (video_id, by_video[video_id].warnings)
    for video_id, path in corpus.paired.items():
        assert by_video[video_id].path == path, (video_id, by_video[video_id].path)
    # Only the files we meant as junk failed: no good video is among the failures.
    failed = {o.video_id for o in report.outcomes if o.status == "failed"}
    assert not failed & (corpus.good | set(corpus.salvaged) | set(corpus.paired))

    # No junk text reached the index.
    contents = " ".join(d.content or "" for d in ingestor.bundle.store.filter_documents())
    for marker in ("Too Many Requests", "429", "Sign in to continue", "Forbidden", "convolution", "\x00"):
        assert marker not in contents

    reported = sum(1 for path, reason in corpus.bad.items() if _reported(path, reason, said))
    indexed = len((corpus.good | set(corpus.salvaged) | set(corpus.paired)) & held)
    counts = {"tried": corpus.files_tried, "reported": reported, "indexed": indexed, "lost": corpus.files_tried - reported - indexed}
    print(f"hostile corpus: {json.dumps(counts)}")
    assert counts["lost"] == 0


def test_a_junk_richer_transcript_falls_back_to_the_good_srt_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "vid.srt").write_text(srt())
    (tmp_path / "vid.sentence_timings.json").write_text(HTML_429)
    report = Ingestor(load_settings()).ingest([tmp_path])
    (outcome,) = report.outcomes
    assert outcome.status == "added" and outcome.path == tmp_path / "vid.srt"
    assert any("skipped vid.sentence_timings.json" in w and "HTML" in w and "429" in w for w in outcome.warnings), outcome.warnings


def test_the_same_video_in_two_folders_uses_one_and_names_the_other(tmp_path: Path) -> None:
    for folder in ("a", "b", "b/deeper"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "lecture.srt").write_text(srt())
    (tmp_path / "b" / "lecture.json").write_text(whisper_json())
    findings = Findings()
    videos = discover([tmp_path], findings)
    assert videos["lecture"].transcripts == [tmp_path / "a" / "lecture.srt"]
    (warning,) = findings.warnings
    assert f"using the files in {tmp_path / 'a'}" in warning
    for ignored in ("b/lecture.json", "b/lecture.srt", "b/deeper/lecture.srt"):
        assert str(tmp_path / ignored) in warning
    assert "using both" not in warning


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
        ("[" * 100_000, "nested too deeply"),
        ('{"segments": [' + '{"a": ' * 3000, "nested too deeply"),
    ],
)
def test_deep_json_is_a_transcript_error_not_a_recursion_error(tmp_path: Path, data: str, message: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(data)
    with pytest.raises(TranscriptError, match=message):
        read_transcript(path)


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.srt"
    with path.open("wb") as handle:
        handle.truncate(30 * 1024 * 1024)
    with pytest.raises(TranscriptError, match=r"30\.0 MiB; transcripts larger than 16 MiB are not read"):
        read_transcript(path)


def test_corrupt_media_with_a_valid_header_fails_before_any_model_is_loaded(tmp_path: Path) -> None:
    from pipelines.corpus.transcription.probe import probe_media
    from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber

    rng = random.Random(RNG_SEED)
    cases = {
        "header_only.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(rng.getrandbits(8) for _ in range(5000)),
        "frame_sync.mp3": b"\xff\xfb\x90\x00" + bytes(rng.getrandbits(8) for _ in range(20_000)),
        "riff.wav": b"RIFF\x24\x00\x00\x00WAVEjunk" + bytes(rng.getrandbits(8) for _ in range(2000)),
        "ebml.mkv": b"\x1aE\xdf\xa3" + bytes(range(256)) * 20,
    }
    # A model path that does not exist: loading it would fail with a different error, so a VideoFailure
    # naming the file proves the probe ran first.
    transcriber = FasterWhisperTranscriber(model=str(tmp_path / "no-such-model"))
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(VideoFailure) as probed:
            probe_media(path)
        assert name in probed.value.reason and not probed.value.retryable
        with pytest.raises(VideoFailure) as transcribing:
            transcriber.transcribe_file(path)
        assert name in transcribing.value.reason
    assert transcriber._model is None


def test_a_valid_wav_passes_the_probe(tmp_path: Path) -> None:
    from pipelines.corpus.transcription.probe import probe_media

    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(16_000)
        audio.writeframes(b"\x01\x00\xff\xff" * 8000)
    probe_media(path)
