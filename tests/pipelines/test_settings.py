from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.cli.main import main
from pipelines.settings import Settings, SettingsError, load_settings
from pipelines.settings.validators import variable_names


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
        # A comma list names the bad entry, not only the variable.
        ("COURSE_TA_VOICE_BACKENDS", "piper,Piper", "COURSE_TA_VOICE_BACKENDS: names 'piper' twice"),
        ("COURSE_TA_VOICE_BACKENDS", " , ", "COURSE_TA_VOICE_BACKENDS: must be a comma-separated list"),
        ("COURSE_TA_DISCORD_ALLOWED_CHANNELS", "123456789012345678,42", "COURSE_TA_DISCORD_ALLOWED_CHANNELS: '42' is not a Discord id"),
        ("COURSE_TA_SLACK_CHANNELS", "C0123,general", "COURSE_TA_SLACK_CHANNELS: 'general' is not a Slack channel id"),
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


@pytest.mark.parametrize(
    "variable",
    [
        "COURSE_TA_ELASTICSEARCH_URL",
        "COURSE_TA_LLM_BASE_URL",
        "COURSE_TA_TORTOISE_URL",
        "COURSE_TA_ELEVENLABS_BASE_URL",
        "COURSE_TA_SLACK_API_URL",
    ],
)
def test_every_url_setting_rejects_a_url_without_scheme_the_same_way(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "localhost:9200")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value) == f"invalid configuration: {variable}: must start with http:// or https://"


def test_urls_are_normalised_and_blank_ones_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_LLM_BASE_URL", "http://llm:8000/v1/")
    monkeypatch.setenv("COURSE_TA_SLACK_API_URL", "http://slack.test/api")
    monkeypatch.setenv("COURSE_TA_TORTOISE_URL", "  ")
    settings = load_settings()
    assert settings.llm_base_url == "http://llm:8000/v1"
    assert settings.slack_api_url == "http://slack.test/api/"  # Slack's client appends method names
    assert settings.tortoise_url is None


def test_blank_secrets_are_unset_and_set_ones_are_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "")
    monkeypatch.setenv("COURSE_TA_ELASTICSEARCH_API_KEY", "   ")
    monkeypatch.setenv("SLACK_BOT_TOKEN", " xoxb-123 \n")
    settings = load_settings()
    assert settings.discord_token is None
    assert settings.elasticsearch_api_key is None
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == "xoxb-123"


def test_a_malformed_secret_is_named_but_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token-value")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SLACK_BOT_TOKEN" in str(error.value)
    assert "xoxp-user-token-value" not in str(error.value)


def test_comma_lists_are_normalised_and_checked_entry_by_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_SLACK_CHANNELS", " C0123, G0456 ,")
    monkeypatch.setenv("COURSE_TA_VOICE_BACKENDS", "Piper, tortoise")
    monkeypatch.setenv("COURSE_TA_CAPTION_LANGUAGES", "en-GB, en")
    monkeypatch.setenv("COURSE_TA_DISCORD_ALLOWED_GUILDS", "123456789012345678 , 223456789012345678")
    settings = load_settings()
    assert settings.slack_channel_ids == frozenset({"C0123", "G0456"})
    assert settings.voice_backend_order == ["piper", "tortoise"]
    assert settings.caption_language_list == ["en-GB", "en"]
    assert settings.discord_allowed_guild_ids == frozenset({123456789012345678, 223456789012345678})


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_TOP_K", "7")
    assert load_settings(top_k=3).top_k == 3


def _sections(text: str) -> dict[str, set[str]]:
    """Variables documented (commented or not) under each ``# ===== name: pipelines/settings/module.py =====`` heading."""
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in text.splitlines():
        heading = re.match(r"# ===== \w+: pipelines/settings/(\w+)\.py =====", line)
        if heading:
            current = sections.setdefault(heading.group(1), set())
        elif line.startswith("# ====="):
            current = None
        elif current is not None and (variable := re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)):
            current.add(variable.group(1))
    return sections


def _declared_here(module: ModuleType) -> dict[str, FieldInfo]:
    """Fields declared by the settings classes of one concern module (not inherited from another module)."""
    fields: dict[str, FieldInfo] = {}
    for cls in vars(module).values():
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == module.__name__:
            inherited = {name for base in cls.__bases__ if issubclass(base, BaseModel) for name in base.model_fields}
            fields |= {name: info for name, info in cls.model_fields.items() if name not in inherited}
    return fields


def test_env_example_documents_each_setting_in_the_section_of_its_module() -> None:
    sections = _sections((Path(__file__).resolve().parents[2] / "infra" / ".env.example").read_text())
    covered: set[str] = set()
    for module_name, documented in sections.items():
        fields = _declared_here(importlib.import_module(f"pipelines.settings.{module_name}"))
        assert fields, f"section {module_name} names a module that declares no settings"
        missing = [name for name, info in fields.items() if not (variable_names(name, info) & documented)]
        assert not missing, f"{module_name} settings not documented in its section: {missing}"
        known = set().union(*(variable_names(name, info) for name, info in fields.items()))
        assert documented <= known, f"section {module_name} documents settings of another module: {sorted(documented - known)}"
        covered |= fields.keys()
    assert covered == set(Settings.model_fields), f"no section for: {sorted(set(Settings.model_fields) - covered)}"
