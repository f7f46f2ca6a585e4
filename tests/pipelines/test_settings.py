from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from pipelines.settings import SettingsError, load_settings


def test_defaults_use_the_bundled_model_and_embedded_store(tmp_path: Path) -> None:
    settings = load_settings()
    assert Path(settings.embedding_model, "config.json").exists()
    assert settings.store_kind == "embedded"
    assert settings.store_dir == tmp_path / "data" / "store"


def test_elasticsearch_is_chosen_by_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_ELASTICSEARCH_URL", "http://localhost:9200/")
    settings = load_settings()
    assert settings.store_kind == "elasticsearch"
    assert settings.elasticsearch_url == "http://localhost:9200"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("COURSE_TA_TOP_K", "lots", "COURSE_TA_TOP_K"),
        ("COURSE_TA_TOP_K", "0", "COURSE_TA_TOP_K"),
        ("COURSE_TA_CHUNK_WORDS", "5", "COURSE_TA_CHUNK_WORDS"),
        ("COURSE_TA_CHUNK_OVERLAP_WORDS", "500", "COURSE_TA_CHUNK_OVERLAP_WORDS"),
        ("COURSE_TA_ELASTICSEARCH_URL", "localhost:9200", "COURSE_TA_ELASTICSEARCH_URL"),
        ("COURSE_TA_ELASTICSEARCH_INDEX", "Course TA", "COURSE_TA_ELASTICSEARCH_INDEX"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_dotenv_is_read_and_secrets_are_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text("COURSE_TA_TOP_K=7\nCOURSE_TA_ELASTICSEARCH_API_KEY=super-secret-key\n")
    settings = load_settings()
    assert settings.top_k == 7
    assert "super-secret-key" not in repr(settings)
    assert "super-secret-key" not in settings.describe_store()


def test_cli_reports_bad_settings_with_exit_code_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURSE_TA_TOP_K", "-3")
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("course-ta: invalid configuration: COURSE_TA_TOP_K")
    assert "Traceback" not in err
