"""Saving the catalog edits the reviewed courses file in place: comments, order and untouched courses stay byte-for-byte."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipelines.courses.catalog import (
    MAX_COURSES_FILE_BYTES,
    AnswerPolicy,
    Course,
    CourseCatalog,
    CourseError,
    load_catalog,
    save_catalog,
    validated_course,
)

REVIEWED = """\
# Courses of the CS department. Reviewed by the teaching committee; keep it sorted by term.

[[course]]
id = "nlp"            # renamed from cs224 in 2026
title = "NLP with Transformers"
sources = ["/lectures/nlp"]   # the recordings server
slack_channels = ["C0NLP0001"]

# Tuned after the midterm: students asked many off-topic questions.
[course.policy]
min_relevance = 0.45  # see the calibration notes
hint_topics = ["assignment 2"]

[[course]]
# Vision shares the GPU server with the lab.
title = "Computer Vision"
id = "vision"
discord_guilds = ["222222222222222222"]   # the server id from Discord settings
"""

VISION_TABLE = REVIEWED[REVIEWED.index("[[course]]\n# Vision") :]


def write(tmp_path: Path, text: str, newline: str = "\n") -> Path:
    path = tmp_path / "courses.toml"
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def edited(path: Path, course_id: str, **update: object) -> str:
    """Change one course the way ``course pause``/``resume`` does and return the file's new text."""
    catalog = load_catalog(path)
    courses = [c.model_copy(update=update) if c.id == course_id else c for c in catalog.courses]
    save_catalog(CourseCatalog(courses=courses, path=path), path)
    return path.read_bytes().decode("utf-8")


def test_pausing_one_course_adds_one_line_and_keeps_every_comment(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED)
    text = edited(path, "nlp", paused=True)
    expected = REVIEWED.replace('slack_channels = ["C0NLP0001"]\n', 'slack_channels = ["C0NLP0001"]\npaused = true\n')
    assert text == expected
    assert load_catalog(path).get("nlp").paused


def test_resuming_rewrites_only_the_value_and_keeps_its_comment(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED.replace('id = "vision"\n', 'id = "vision"\npaused = true   # exam week\n'))
    text = edited(path, "vision", paused=False)
    assert text == REVIEWED.replace('id = "vision"\n', 'id = "vision"\npaused = false   # exam week\n')


def test_a_changed_policy_value_keeps_the_subtable_comments(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED)
    nlp = load_catalog(path).get("nlp")
    text = edited(path, "nlp", policy=nlp.policy.model_copy(update={"min_relevance": 0.5}))
    assert text == REVIEWED.replace("min_relevance = 0.45  #", "min_relevance = 0.5  #")


def test_adding_a_course_appends_it_and_leaves_the_file_before_it_as_it_was(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED)
    catalog = load_catalog(path)
    art = Course(id="art", title="Art History", slack_channels=["C0ART0001"], policy=AnswerPolicy(questions_per_minute=10))
    save_catalog(CourseCatalog(courses=[*catalog.courses, art], path=path), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(REVIEWED + "\n[[course]]\n")  # one blank line, then the new table
    assert load_catalog(path).courses == [*catalog.courses, art]
    assert "paused" not in text and "private_answers" not in text  # defaults are not spelled out


def test_a_course_removed_from_the_catalog_leaves_the_others_untouched(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED)
    catalog = load_catalog(path)
    save_catalog(CourseCatalog(courses=[catalog.get("vision")], path=path), path)
    assert path.read_text(encoding="utf-8") == REVIEWED[: REVIEWED.index("[[course]]")] + VISION_TABLE


def test_a_windows_file_keeps_its_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED, newline="\r\n")
    text = edited(path, "nlp", paused=True)
    expected = REVIEWED.replace('slack_channels = ["C0NLP0001"]\n', 'slack_channels = ["C0NLP0001"]\npaused = true\n')
    assert text == expected.replace("\n", "\r\n")


def test_the_write_is_atomic_and_keeps_the_file_permissions(tmp_path: Path) -> None:
    path = write(tmp_path, REVIEWED)
    path.chmod(0o600)
    edited(path, "nlp", paused=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["courses.toml"]  # no temporary file left behind


def test_a_new_file_starts_with_a_header_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "new" / "courses.toml"
    courses = [Course(id="nlp", title="NLP"), Course(id="vision", title="Vision", paused=True)]
    save_catalog(CourseCatalog(courses=courses, path=path), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert load_catalog(path).courses == courses


def test_a_courses_file_over_the_cap_is_refused_in_one_line(tmp_path: Path) -> None:
    padding = "# " + "x" * 78 + "\n"
    body = '[[course]]\nid = "nlp"\ntitle = "NLP"\n'
    path = write(tmp_path, body + padding * (MAX_COURSES_FILE_BYTES // len(padding) + 1))
    with pytest.raises(CourseError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert str(path) in message and "1 MiB" in message and "\n" not in message
    with pytest.raises(CourseError, match="1 MiB"):
        save_catalog(CourseCatalog(courses=[Course(id="nlp", title="NLP")], path=path), path)


def test_a_courses_file_at_the_cap_still_loads(tmp_path: Path) -> None:
    body = '[[course]]\nid = "nlp"\ntitle = "NLP"\n'
    path = write(tmp_path, body + "#" * (MAX_COURSES_FILE_BYTES - len(body) - 1) + "\n")
    assert path.stat().st_size == MAX_COURSES_FILE_BYTES
    assert load_catalog(path).ids() == ["nlp"]


def test_a_bad_course_is_one_line_per_field_without_pydantic_noise() -> None:
    with pytest.raises(CourseError) as caught:
        validated_course({"id": "Bad Id", "title": "x", "slack_channels": ["general"]}, "course 'Bad Id'")
    message = str(caught.value)
    assert message.startswith("course 'Bad Id': id: 'Bad Id' is not a course id")
    assert "slack_channels: 'general' is not a Slack channel id" in message
    assert "\n" not in message and "pydantic" not in message and "type=" not in message and "Value error" not in message


def test_a_comment_above_the_next_course_stays_above_it(tmp_path: Path) -> None:
    original = '[[course]]\nid = "nlp"\ntitle = "NLP"\n\n# Vision: taught by the lab, ask Ana before pausing.\n[[course]]\nid = "vision"\ntitle = "V"\n'
    path = write(tmp_path, original)
    text = edited(path, "nlp", paused=True, policy=AnswerPolicy(questions_per_minute=5))
    assert text == (
        '[[course]]\nid = "nlp"\ntitle = "NLP"\npaused = true\n\n[course.policy]\nquestions_per_minute = 5\n'
        '\n# Vision: taught by the lab, ask Ana before pausing.\n[[course]]\nid = "vision"\ntitle = "V"\n'
    )
    assert load_catalog(path).get("nlp").policy.questions_per_minute == 5


def test_a_symlinked_file_keeps_its_link_and_the_target_is_replaced(tmp_path: Path) -> None:
    real = write(tmp_path, REVIEWED)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    text = edited(link, "nlp", paused=True)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert text == real.read_text(encoding="utf-8") and "paused = true" in text


def test_an_edit_that_would_pass_the_cap_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    body = '[[course]]\nid = "nlp"\ntitle = "NLP"\n'
    original = body + "#" * (MAX_COURSES_FILE_BYTES - len(body) - 10) + "\n"
    path = write(tmp_path, original)
    catalog = load_catalog(path)
    with pytest.raises(CourseError) as caught:
        save_catalog(CourseCatalog(courses=[*catalog.courses, Course(id="art", title="Art History")], path=path), path)
    message = str(caught.value)
    assert str(path) in message and f"{MAX_COURSES_FILE_BYTES:,} bytes" in message and "\n" not in message
    assert path.read_text(encoding="utf-8") == original


def test_the_oversize_message_gives_the_exact_size(tmp_path: Path) -> None:
    path = write(tmp_path, '[[course]]\nid = "nlp"\ntitle = "NLP"\n' + "#" * MAX_COURSES_FILE_BYTES + "\n")
    with pytest.raises(CourseError) as caught:
        load_catalog(path)
    assert f"is {path.stat().st_size:,} bytes" in str(caught.value) and "1.0 MiB" not in str(caught.value)


def test_the_first_course_goes_below_the_comments_of_an_empty_file(tmp_path: Path) -> None:
    header = "# Courses of the CS department.\n\n# Add one table per course.\n"
    path = write(tmp_path, header)
    save_catalog(CourseCatalog(courses=[Course(id="nlp", title="NLP")], path=path), path)
    assert path.read_text(encoding="utf-8") == header + '\n[[course]]\nid = "nlp"\ntitle = "NLP"\n'


def test_the_edit_lock_excludes_another_holder(tmp_path: Path) -> None:
    from pipelines.courses.toml_edit import TomlEditBusyError, edit_lock, lock_path

    path = write(tmp_path, REVIEWED)
    link = tmp_path / "link.toml"
    link.symlink_to(path)
    with edit_lock(path):
        # Another process's attempt, through the link: the lock belongs to the file, not to the name.
        import subprocess
        import sys

        code = (
            "import sys; from pathlib import Path; from pipelines.courses.toml_edit import TomlEditBusyError, edit_lock\n"
            "try:\n    edit_lock(Path(sys.argv[1]), timeout=0.2).__enter__()\nexcept TomlEditBusyError as e:\n    print(e); sys.exit(3)\n"
        )
        root = Path(__file__).resolve().parents[3]
        done = subprocess.run([sys.executable, "-c", code, str(link)], capture_output=True, text=True, timeout=120, cwd=root)
        assert done.returncode == 3, done.stderr
        assert str(path) in done.stdout and "pid" in done.stdout
    assert lock_path(link) == lock_path(path)
    with edit_lock(link, timeout=5):  # released: the next editor gets it at once
        pass
    assert TomlEditBusyError


def _load(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CourseError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.parametrize("field", ["ta_slack_channel", "policy.answer_without_mention"])
def test_a_ta_slack_channel_that_is_a_student_channel_is_refused(tmp_path: Path, field: str) -> None:
    student = (
        'slack_channels = ["C0NLP0001"]\n' if field == "ta_slack_channel" else '[course.policy]\nanswer_without_mention = ["C0NLP0001"]\n'
    )
    own = _load(tmp_path, f'[[course]]\nid = "nlp"\ntitle = "NLP"\nta_slack_channel = "C0NLP0001"\n{student}')
    assert "course 'nlp'" in own and "ta_slack_channel C0NLP0001" in own and "students" in own
    other = _load(
        tmp_path, f'[[course]]\nid = "nlp"\ntitle = "NLP"\n{student}[[course]]\nid = "cv"\ntitle = "CV"\nta_slack_channel = "C0NLP0001"\n'
    )
    assert "course 'cv'" in other and "ta_slack_channel" in other and "'nlp'" in other


def test_a_ta_discord_channel_that_is_a_student_channel_is_refused(tmp_path: Path) -> None:
    message = _load(
        tmp_path,
        '[[course]]\nid = "nlp"\ntitle = "NLP"\ndiscord_channels = ["111111111111111111"]\n'
        '[[course]]\nid = "cv"\ntitle = "CV"\nta_discord_channel = "111111111111111111"\n',
    )
    assert "course 'cv'" in message and "ta_discord_channel 111111111111111111" in message


def test_ta_channels_apart_from_student_channels_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[course]]\nid = "nlp"\ntitle = "NLP"\nslack_channels = ["C0NLP0001"]\nta_slack_channel = "C0TA00001"\n'
        '[[course]]\nid = "cv"\ntitle = "CV"\nslack_channels = ["C0CV00001"]\nta_slack_channel = "C0TA00001"\n',
    )
    assert load_catalog(path).get("cv").ta_slack_channel == "C0TA00001"  # one TA room for both courses is fine


@pytest.mark.parametrize("title", ['"""two\nlines"""', '"   "', '"tab\\there"', '""'])
def test_a_title_must_be_one_line_of_text(tmp_path: Path, title: str) -> None:
    message = _load(tmp_path, f'[[course]]\nid = "nlp"\ntitle = {title}\n')
    assert "course 'nlp'" in message and "title" in message


def test_repeated_channels_count_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[course]]\nid = "nlp"\ntitle = "NLP"\nslack_channels = ["C0NLP0001", "C0NLP0001"]\n'
        'discord_channels = ["111111111111111111", "111111111111111111"]\ndiscord_guilds = ["222222222222222222", "222222222222222222"]\n',
    )
    nlp = load_catalog(path).get("nlp")
    assert nlp.slack_channels == ["C0NLP0001"]
    assert nlp.discord_channels == ["111111111111111111"] and nlp.discord_guilds == ["222222222222222222"]


def test_a_field_error_names_the_course_by_its_id(tmp_path: Path) -> None:
    message = _load(tmp_path, '[[course]]\nid = "nlp"\ntitle = "NLP"\n[[course]]\nid = "cv"\ntitle = "CV"\nslack_channels = ["general"]\n')
    assert "course 'cv'" in message and "#2" in message and "course #2:" not in message
    nameless = _load(tmp_path, '[[course]]\ntitle = "NLP"\n')
    assert "course #1" in nameless


def test_a_duplicate_id_says_it_is_defined_twice(tmp_path: Path) -> None:
    message = _load(tmp_path, '[[course]]\nid = "a"\ntitle = "x"\n[[course]]\nid = "b"\ntitle = "y"\n[[course]]\nid = "a"\ntitle = "z"\n')
    assert "course id 'a' is defined twice" in message and "#1" in message and "#3" in message
    assert "in both" not in message
