"""faster-whisper on synthesized lectures: accuracy, timing, containers, bad input."""

from __future__ import annotations

import subprocess
from itertools import pairwise

import pytest
from lecture_audio import encode

from pipelines.corpus.transcription.audio import SAMPLE_RATE, stream_audio
from pipelines.corpus.transcription.vocabulary import course_terms, initial_prompt
from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber
from pipelines.freshness.faults import VideoFailure
from tests.pipelines.freshness.conftest import word_error_rate


def test_bundled_model_transcribes_lecture_accurately_with_monotonic_covering_times(lecture_wav, transcriber):
    path, spoken = lecture_wav
    result = transcriber.transcribe_file(path, initial_prompt(["LoRA", "softmax", "transformer"]))
    assert word_error_rate(spoken, result.text) < 0.20, result.text
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    for before, after in pairwise(result.segments):
        assert before.end <= after.start + 1e-6
    assert all(s.start <= s.end for s in result.segments)
    assert result.segments[0].start < 2.0
    assert result.segments[-1].end > result.audio_s - 3.0
    words = [w for s in result.segments for w in (s.words or ())]
    assert len(words) > 50 and all(s.start - 0.01 <= w.start <= s.end + 0.01 for s in result.segments for w in s.words or ())


def test_batched_pipeline_agrees_with_sequential(lecture_wav):
    path, spoken = lecture_wav
    batched = FasterWhisperTranscriber(batch_size=4)
    result = batched.transcribe_file(path)
    assert result.batched
    assert word_error_rate(spoken, result.text) < 0.20


def test_any_container_decodes_and_windows_keep_whole_file_time(lecture_wav, transcriber, tmp_path):
    path, spoken = lecture_wav
    webm = encode(path, tmp_path / "lecture.webm", ["-c:a", "libopus", "-b:a", "32k"])
    windows = list(stream_audio(webm, window_s=10))
    assert len(windows) >= 3
    total = sum(w.duration_s for w in windows)
    assert abs(total - windows[-1].offset_s - windows[-1].duration_s) < 1e-6
    short_windows = FasterWhisperTranscriber(window_s=10.0)
    short_windows._model = transcriber._model  # same loaded model, different window size
    result = short_windows.transcribe_file(webm)
    assert word_error_rate(spoken, result.text) < 0.25
    assert [s.start for s in result.segments] == sorted(s.start for s in result.segments)


def test_bad_media_is_a_clear_failure(tmp_path, transcriber):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoFailure, match="empty"):
        transcriber.transcribe_file(empty)
    corrupt = tmp_path / "corrupt.mkv"
    corrupt.write_bytes(b"\x1aE\xdf\xa3" + bytes(range(256)) * 20)
    with pytest.raises(VideoFailure) as caught:
        transcriber.transcribe_file(corrupt)
    assert not caught.value.retryable and "corrupt.mkv" in caught.value.reason


def test_silence_yields_no_segments(tmp_path, transcriber):
    silence = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", str(silence), "trim", "0", "8"], check=True)
    assert transcriber.transcribe_file(silence).segments == []


def test_component_round_trips_through_haystack_serialisation():
    component = FasterWhisperTranscriber(model="tiny.en", batch_size=8, compute_type="int8")
    data = component.to_dict()
    clone = FasterWhisperTranscriber.from_dict(data)
    assert clone.to_dict() == data and clone.batch_size == 8


def test_vocabulary_prefers_course_names_over_ordinary_words():
    titles = ["Fine-tuning with LoRA", "ImageBind explained", "Voice cloning with Tortoise", "Intro to LoRA adapters"]
    texts = ["So today we train LoRA adapters. The model is small. We use ImageBind and Tortoise here. The model works."]
    terms = course_terms(titles, texts)
    assert {"LoRA", "ImageBind", "Tortoise"} <= set(terms)
    assert "The" not in terms and "So" not in terms
    prompt = initial_prompt(terms)
    assert prompt is not None and "LoRA" in prompt and len(prompt) <= 600
