"""The courses file: validation with one-line reasons, per-course data dirs and indexes, course settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.courses.catalog import Course, CourseCatalog, CourseError, load_catalog, save_catalog
from pipelines.courses.course_settings import settings_for
from pipelines.settings import SettingsError, load_settings

TWO_COURSES = """
[[course]]
id = "nlp"
title = "NLP with Transformers"
sources = ["/lectures/nlp"]
slack_channels = ["C0NLP0001"]
discord_channels = ["111111111111111111"]
voice_name = "nlp-voice"

[course.policy]
min_relevance = 0.4
private_answers = true
hint_topics = ["assignment 2"]

[[course]]
id = "vision"
title = "Computer Vision"
slack_channels = ["C0VIS0001"]
discord_guilds = ["222222222222222222"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "courses.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_is_one_implicit_course_on_the_base_data_dir(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "missing.toml")
    assert not catalog.explicit
    assert catalog.ids() == ["default"]
    assert catalog.courses[0].data_dir(tmp_path) == tmp_path
    assert catalog.courses[0].elasticsearch_index("course-ta") == "course-ta"


def test_two_courses_get_separate_data_dirs_and_indexes(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, TWO_COURSES))
    nlp, vision = catalog.get("nlp"), catalog.get("vision")
    assert nlp.data_dir(tmp_path) != vision.data_dir(tmp_path)
    assert nlp.data_dir(tmp_path).parent == tmp_path / "courses"
    assert nlp.elasticsearch_index("course-ta") == "course-ta-nlp"
    assert nlp.policy.private_answers and not vision.policy.private_answers


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[course]]\nid = "Bad Id"\ntitle = "x"\n', "course id"),
        ('[[course]]\nid = "a"\ntitle = "x"\nslack_channels = ["general"]\n', "Slack channel id"),
        ('[[course]]\nid = "a"\ntitle = "x"\ncolour = "red"\n', "colour"),
        ('[[course]]\nid = "a"\ntitle = "x"\n[[course]]\nid = "a"\ntitle = "y"\n', "course id 'a' is defined twice"),
        (
            '[[course]]\nid = "a"\ntitle = "x"\nslack_channels = ["C0AAA"]\n[[course]]\nid = "b"\ntitle = "y"\nslack_channels = ["C0AAA"]\n',
            "Slack channel C0AAA is in both",
        ),
        ("title = 'no table'\n", "unknown top-level key"),
        ("[[course\n", "cannot read"),
        ("", "no [[course]] table"),
    ],
)
def test_invalid_files_fail_with_a_reason_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CourseError) as caught:
        load_catalog(path)
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, TWO_COURSES))
    copy = tmp_path / "copy" / "courses.toml"
    save_catalog(CourseCatalog(courses=catalog.courses, path=copy), copy)
    assert load_catalog(copy).courses == catalog.courses


def test_course_settings_point_every_store_path_at_the_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    base = load_settings(deployment=True)
    nlp = settings_for(base, Course(id="nlp", title="NLP", voice_name="nlp-voice"))
    course_dir = tmp_path / "courses" / "nlp"
    assert nlp.store_dir == course_dir / "store"
    assert nlp.ledger_path == course_dir / "ledger.sqlite"
    assert nlp.feedback_db_path == course_dir / "feedback.sqlite"
    assert nlp.elasticsearch_index == "course-ta-nlp"
    assert nlp.voice_name == "nlp-voice"
    assert base.store_dir == tmp_path / "store"  # the base settings are not changed


def test_load_settings_selects_the_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    write(tmp_path, TWO_COURSES)
    with pytest.raises(SettingsError, match="choose one with --course"):
        load_settings()
    monkeypatch.setenv("COURSE_TA_COURSE", "vision")
    assert load_settings().data_dir == tmp_path / "courses" / "vision"
    monkeypatch.setenv("COURSE_TA_COURSE", "history")
    with pytest.raises(SettingsError, match="unknown course 'history'"):
        load_settings()
    assert load_settings(deployment=True).data_dir == tmp_path


def test_one_course_deployment_without_a_file_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.data_dir == tmp_path
    assert settings.elasticsearch_index == "course-ta"
