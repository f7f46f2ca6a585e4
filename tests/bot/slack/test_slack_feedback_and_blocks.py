"""Feedback buttons → answer log → ``course-ta feedback export``; Block Kit limits; the progressive updater; settings."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient

from bot.cli.main import main
from bot.slack.blocks import MAX_BLOCKS, SECTION_LIMIT, answer_blocks, escape, link, split_text
from bot.slack.reply import ThreadReply
from pipelines.domain import Answer, Citation
from pipelines.settings import SettingsError, load_settings
from tests.bot.slack.slack_constants import BOT_TOKEN, CHANNEL, SIGNING_SECRET, STUDENT
from tests.bot.slack.slack_events import block_action, deliver


def test_feedback_button_is_recorded_with_the_answer_and_exported(make_bot, wire, tmp_path, capsys, monkeypatch):
    running = make_bot(slack_voice_clips=False)
    question = running.ask("What is contrastive learning?")
    reply = running.answered(question)
    (feedback,) = [b for b in reply["blocks"] if b["type"] == "context_actions"]
    negative = feedback["elements"][0]["negative_button"]["value"]

    def click(action_id: str, value: str, element: str = "feedback_buttons", user: str = STUDENT) -> int:
        body = block_action(action_id, value, user, CHANNEL, reply["ts"], question["event"]["ts"], wire.team_id, element=element)
        return deliver(running.url, body, SIGNING_SECRET, content_type="application/x-www-form-urlencoded").status

    assert click("answer_feedback", negative) == 200
    thanks = wire.wait_for(lambda: wire.calls_to("chat.postEphemeral"), what="the thank-you")[0]
    assert ":-1:" in thanks.params["text"] and thanks.params["thread_ts"] == question["event"]["ts"]
    assert click("answer_feedback", "good:" + "0" * 32) == 200
    wire.wait_for(lambda: len(wire.calls_to("chat.postEphemeral")) == 2, what="the unknown-answer reply")
    assert "not recorded" in wire.calls_to("chat.postEphemeral")[1].params["text"]
    # Messages posted before the native buttons carry the old custom buttons: their clicks still count.
    answer_id = negative.split(":", 1)[1]
    assert click("feedback_up", answer_id, element="button", user="U0STUDENT2") == 200
    wire.wait_for(lambda: len(wire.calls_to("chat.postEphemeral")) == 3, what="the legacy thank-you")
    assert [(v.voter, v.vote) for v in running.bot.log.votes()] == [(STUDENT, -1), ("U0STUDENT2", 1)]

    record = running.bot.log.votes()[0]
    assert (record.vote, record.voter, record.channel) == (-1, STUDENT, CHANNEL)
    assert record.question == "What is contrastive learning?" and record.answer == reply["text"]
    assert record.citations[0]["title"] == "Contrastive fine-tuning with triplets"

    # The CLI reads the same file from the data dir.
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(running.bot.log.path.parent))
    assert main(["feedback", "export"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["vote"], row["question"]) for row in exported] == [
        (-1, "What is contrastive learning?"),
        (1, "What is contrastive learning?"),
    ]
    assert exported[0]["citations"][0]["url"].endswith("#t=1")
    assert main(["feedback", "export", "--format", "csv", "-o", str(tmp_path / "votes.csv")]) == 0
    assert "Contrastive fine-tuning" in (tmp_path / "votes.csv").read_text()
    assert main(["feedback", "export", "--since", "yesterday"]) == 2


def _answer(text: str, citations: int = 3) -> Answer:
    cites = [
        Citation(
            f"v{n}",
            f"Lecture <{n}> | part & more",
            f"https://www.youtube.com/watch?v=v{n}&t={60 * n + 5}s",
            60.0 * n + 5,
            None,
            0.5,
            "a quote " * 80,
        )
        for n in range(citations)
    ]
    return Answer("q", text, bool(citations), cites, "embedded", "offline")


def test_long_answers_respect_section_and_block_limits():
    long_text = ("This sentence explains a point about tokenizers in detail. " * 60 + "\n\n") * 40
    blocks = answer_blocks(_answer(long_text, citations=30), "abc")
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert "cut to fit" in json.dumps(blocks)
    pieces = split_text(long_text)
    assert all(len(p) <= SECTION_LIMIT for p in pieces) and pieces[0].endswith(".")


def test_sources_escape_titles_and_link_the_exact_second():
    blocks = answer_blocks(_answer("See <script> & co.", citations=2), "abc")
    assert blocks[0]["text"]["text"] == "See &lt;script&gt; &amp; co."
    source = blocks[3]["text"]["text"]
    assert source.startswith("*[1]* <https://www.youtube.com/watch?v=v0&t=5s|Lecture &lt;0&gt; \u2758 part &amp; more>")
    assert "<https://www.youtube.com/watch?v=v0&t=5s|:arrow_forward: 0:05>" in source
    assert len(source.split("\n>", 1)[1]) <= 220
    assert link("https://x/a>b|c", "t") == "<https://x/a%3Eb%7Cc|t>"
    assert escape("a<b") == "a&lt;b"


def test_thread_reply_streams_partial_text_throttled_then_final(wire):
    now = [0.0]
    client = WebClient(token=BOT_TOKEN, base_url=wire.api_url)
    reply = ThreadReply(client, CHANNEL, "1700000000.000001", min_update_interval_s=1.0, clock=lambda: now[0])
    assert reply.start()
    assert reply.partial("Tokenizers split")
    assert not reply.partial("Tokenizers split text"), "within a second: skipped"
    now[0] = 1.5
    assert reply.partial("Tokenizers split text into tokens")
    assert reply.final("Tokenizers split text into tokens.", answer_blocks(_answer("Tokenizers split text into tokens.", 1)))
    updates = wire.calls_to("chat.update")
    assert [u.params["text"] for u in updates] == [
        "Tokenizers split",
        "Tokenizers split text into tokens",
        "Tokenizers split text into tokens.",
    ]
    assert "still writing" in json.dumps(updates[0].params["blocks"]) and "still writing" not in json.dumps(updates[-1].params["blocks"])
    wire.fail["chat.update"] = "ratelimited"
    assert not reply.final("x", []), "Slack errors are reported, not raised"


def test_token_shapes_are_checked_without_echoing_them(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token-secret")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SLACK_BOT_TOKEN" in str(error.value) and "xoxb-" in str(error.value) and "secret" not in str(error.value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-good")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-wrong-kind-secret")
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        load_settings()
    monkeypatch.setenv("COURSE_TA_SLACK_APP_TOKEN", "xapp-1-ok")
    monkeypatch.delenv("SLACK_APP_TOKEN")
    settings = load_settings()
    assert settings.slack_app_token is not None and "xapp" not in repr(settings)
    with pytest.raises(SettingsError, match="COURSE_TA_SLACK_CHANNELS"):
        load_settings(slack_channels="general")


def test_serve_names_the_missing_credentials(monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-good-secretvalue")
    assert main(["serve", "slack", "--mode", "http"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err and "secretvalue" not in err
    assert main(["serve", "slack"]) == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err


def test_files_upload_wire_format_is_what_the_sdk_sends(wire):
    """Guard the local server itself: the three upload steps as the real SDK performs them."""
    client = WebClient(token=BOT_TOKEN, base_url=wire.api_url)
    response = client.files_upload_v2(channel=CHANNEL, thread_ts="1.2", content=b"ID3" + b"\0" * 100, filename="a.mp3", title="t")
    assert response["files"][0]["channels"] == [CHANNEL]
    assert [c.method for c in wire.calls] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_manifest_grants_every_event_and_scope_the_app_uses():
    import yaml

    from tests.bot.slack.slack_constants import SAMPLE_COURSE

    manifest = yaml.safe_load((SAMPLE_COURSE.parents[1] / "infra" / "slack-manifest.yml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mention", "message.channels", "message.groups", "message.im"} <= events
    # chat.postMessage/update/postEphemeral, reactions.add/remove, files upload v2, the events above.
    assert {"assistant_thread_started", "assistant_thread_context_changed", "app_home_opened"} <= events, "the agent view"
    assert "assistant:write" in scopes and manifest["features"]["assistant_view"]["assistant_description"]
    assert {
        "chat:write",
        "reactions:write",
        "files:write",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
    } <= scopes
    assert manifest["settings"]["socket_mode_enabled"] is True and manifest["settings"]["interactivity"]["is_enabled"] is True
