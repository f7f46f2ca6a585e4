from __future__ import annotations

import pytest

from pipelines.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("whisper_device", "tpu", "COURSE_TA_WHISPER_DEVICE"),
        ("whisper_compute_type", "int4", "COURSE_TA_WHISPER_COMPUTE_TYPE"),
        ("whisper_batch_size", 0, "COURSE_TA_WHISPER_BATCH_SIZE"),
        ("transcription_concurrency", 99, "COURSE_TA_TRANSCRIPTION_CONCURRENCY"),
        ("caption_languages", "en;de", "COURSE_TA_CAPTION_LANGUAGES"),
    ],
)
def test_bad_freshness_values_are_one_line_errors_naming_the_variable(field, value, variable, tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings(data_dir=tmp_path, **{field: value})
    assert variable in str(caught.value) and "\n" not in str(caught.value)


def test_caption_languages_are_a_priority_list(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_TA_CAPTION_LANGUAGES", "en-GB,en,de")
    assert load_settings(data_dir=tmp_path).caption_language_list == ["en-GB", "en", "de"]
