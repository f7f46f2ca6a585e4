"""A running desk follows its courses file: a pause from ``course-ta course pause``, hand-edited channels, policies and
new courses apply to the next question once the re-check is due; an invalid or missing file keeps the last good courses
(reported once); services of courses whose settings did not change are kept."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.answering.course_desk import CourseDesk
from bot.cli.main import main
from pipelines.courses.catalog_watch import RECHECK_S
from pipelines.settings import Settings, load_settings

TWO_COURSES = """\
# reviewed by the teaching committee
[[course]]
id = "nlp"
title = "NLP"
slack_channels = ["C0NLP0001"]

[[course]]
id = "math"
title = "Math"
slack_channels = ["C0MATH001"]
"""


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deployment(text: str) -> tuple[Settings, Path]:
    data = Path(os.environ["COURSE_TA_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    path = data / "courses.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(deployment=True), path


def rewrite(path: Path, text: str) -> None:
    """A hand edit saved in place (same file, same inode), as most editors and `cat >` do."""
    with path.open("w", encoding="utf-8") as stream:
        stream.write(text)


def test_a_pause_from_the_command_line_reaches_a_running_desk_once_the_recheck_is_due(capsys: pytest.CaptureFixture[str]) -> None:
    base, _ = deployment(TWO_COURSES)
    clock = Clock()
    desk = CourseDesk(base, clock=clock)
    before = desk.slack("U1", "C0NLP0001", "what is attention?")
    assert before.service is not None and not before.refusal

    assert main(["course", "pause", "nlp"]) == 0
    clock.now += RECHECK_S - 0.5  # not due yet: the question path does not even look at the file
    assert desk.slack("U1", "C0NLP0001", "what is attention?").service is before.service
    clock.now += 1.0
    paused = desk.slack("U1", "C0NLP0001", "what is attention?")
    assert paused.service is None and "NLP is paused" in paused.refusal
    assert desk.slack("U2", "C0MATH001", "what is a group?").service is not None  # the other course still answers
    assert [c.id for c in desk.router.choices()] == ["math"]  # Discord's autocomplete leaves the paused course out

    assert main(["course", "resume", "nlp"]) == 0
    clock.now += RECHECK_S
    resumed = desk.slack("U1", "C0NLP0001", "what is attention?")
    assert resumed.service is before.service  # the course's settings did not change: same service, no models reloaded
    capsys.readouterr()


def test_hand_edited_channels_policies_and_new_courses_apply_and_unchanged_services_are_kept(tmp_path: Path) -> None:
    base, path = deployment(TWO_COURSES)
    desk = CourseDesk(base)
    nlp_service = desk.slack("U1", "C0NLP0001", "q?").service
    math_service = desk.slack("U1", "C0MATH001", "q?").service
    assert desk.slack("U9", "C0NEW0001", "q?").course is None  # nobody's channel yet: the bot asks which course

    rewrite(
        path,
        TWO_COURSES.replace(
            'slack_channels = ["C0NLP0001"]', 'slack_channels = ["C0NLP0001", "C0NEW0001"]\n\n[course.policy]\nprivate_answers = true'
        ).replace('slack_channels = ["C0MATH001"]', 'slack_channels = ["C0MATH001"]\n\n[course.policy]\nmin_relevance = 0.42')
        + '\n[[course]]\nid = "vision"\ntitle = "Vision"\ndiscord_guilds = ["222222222222222222"]\n',
    )
    assert desk.refresh(force=True)

    new_channel = desk.slack("U1", "C0NEW0001", "q?")
    assert new_channel.course is not None and new_channel.course.id == "nlp"
    assert new_channel.private  # the policy edit applies
    assert new_channel.service is nlp_service  # only the policy and channels changed: the service is kept
    vision = desk.discord("U3", "222222222222222222", "333333333333333333", "what is a convolution?")
    assert vision.course is not None and vision.course.id == "vision" and vision.service is not None
    assert vision.service.settings.data_dir == base.data_dir / "courses" / "vision"
    math = desk.slack("U1", "C0MATH001", "q?").service
    assert math is not None and math is not math_service  # its answer threshold changed: a new service with it
    assert math.settings.min_relevance == pytest.approx(0.42)
    assert math_service in desk.services()  # the replaced service is still drained at shutdown
    assert not desk.refresh(force=True)  # nothing changed since


def test_an_invalid_or_missing_file_keeps_the_last_good_courses_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    base, path = deployment(TWO_COURSES)
    desk = CourseDesk(base)
    service = desk.slack("U1", "C0NLP0001", "q?").service
    caplog.set_level(logging.INFO)

    rewrite(path, TWO_COURSES.replace('id = "math"', 'id = "Math Course"'))
    assert not desk.refresh(force=True)
    assert not desk.refresh(force=True)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    assert "\n" not in line and str(path) in line and "id" in line and "last good courses (nlp, math)" in line
    assert desk.catalog.ids() == ["nlp", "math"]
    assert desk.slack("U1", "C0NLP0001", "q?").service is service  # still answering as before

    caplog.clear()
    path.unlink()  # removed by mistake: never drop to no courses
    assert not desk.refresh(force=True)
    assert not desk.refresh(force=True)
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert desk.catalog.ids() == ["nlp", "math"]

    path.write_text(TWO_COURSES.replace('title = "Math"', 'title = "Math"\npaused = true'), encoding="utf-8")
    assert desk.refresh(force=True)
    assert "Math is paused" in desk.slack("U2", "C0MATH001", "q?").refusal
    assert desk.slack("U1", "C0NLP0001", "q?").service is service


def test_the_command_line_desk_follows_a_pause_too() -> None:
    base, path = deployment(TWO_COURSES)
    desk = CourseDesk(base)
    nlp = desk.catalog.get("nlp")
    assert desk.command_line(nlp, "what is attention?").service is not None
    rewrite(path, TWO_COURSES.replace('title = "NLP"', 'title = "NLP"\npaused = true'))
    desk.refresh(force=True)
    # The caller still holds the course as it was read before the edit: the desk judges it as the file says now.
    assert "NLP is paused" in desk.command_line(nlp, "what is attention?").refusal


def test_slack_guards_follow_a_new_channel_answered_without_a_mention(tmp_path: Path) -> None:
    from slack_sdk import WebClient

    from bot.answering.feedback import AnswerLog
    from bot.slack.app import create_slack_bot
    from bot.slack.triage import ANSWER
    from tests.bot.slack.slack_constants import BOT_TOKEN, SIGNING_SECRET
    from tests.fakes.slack_web_api import SlackWire

    _, path = deployment(TWO_COURSES)
    settings = load_settings(deployment=True, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_mode="http")
    desk = CourseDesk(settings)
    wire = SlackWire(BOT_TOKEN).start()  # Slack's Web API, played locally (the app checks its token at start)
    try:
        client = WebClient(token=BOT_TOKEN, base_url=wire.api_url, timeout=10)
        bot = create_slack_bot(settings, client=client, log=AnswerLog(tmp_path / "log.sqlite"), desk=desk)
    finally:
        wire.stop()

    def plain_question(n: int) -> dict:
        event = {"type": "message", "user": "U1", "channel": "C0QNA0001", "channel_type": "channel", "ts": f"170000000{n}.000100"}
        return {"team_id": "T1", "event_id": f"Ev{n}", "event": {**event, "text": "How does attention work in a transformer?"}}

    assert bot.triager.triage(plain_question(1), "UBOT").action != ANSWER  # not a question channel yet
    rewrite(
        path,
        TWO_COURSES.replace(
            'slack_channels = ["C0NLP0001"]', 'slack_channels = ["C0NLP0001"]\n\n[course.policy]\nanswer_without_mention = ["C0QNA0001"]'
        ),
    )
    desk.refresh(force=True)
    assert bot.triager.triage(plain_question(2), "UBOT").action == ANSWER
    ticket = desk.slack("U1", "C0QNA0001", "How does attention work in a transformer?")
    assert ticket.course is not None and ticket.course.id == "nlp"
    bot.close()
