"""``add-source`` follows only what it can: YouTube channel, playlist and video URLs, or an existing folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main


@pytest.mark.parametrize(
    ("location", "message"),
    [
        (["https://notyoutube.example/x"], "is not a YouTube URL (host notyoutube.example)"),
        (["https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ"], "is not a YouTube URL"),
        (["ftp://youtube.com/@channel"], "is not a web address"),
        (["https://www.youtube.com/feed/trending"], "is not a YouTube channel, playlist or video URL"),
        (["https://www.youtube.com/watch?v=short"], "is not a YouTube channel, playlist or video URL"),
        (["https://youtu.be/"], "is not a youtu.be video link"),
        (["https://youtu.be/dQw4w9WgXcQ", "https://vimeo.com/123"], "vimeo.com"),
        (["no/such/folder"], "no such folder"),
        (["http://[::1/"], "is not a valid web address"),
        (["https://user:secret@www.youtube.com/@chan"], "carries a user name or password"),
        (["https://www.youtube.com:99999/@chan"], "is not a valid web address"),
        (["https://www.youtube.com:8080/@chan"], "names port 8080"),
    ],
)
def test_a_location_it_cannot_follow_is_one_line_and_exit_2(location: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add-source", *location]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and captured.out == ""
    assert main(["status"]) == 0
    assert "added" not in capsys.readouterr().out


def test_a_file_is_not_a_local_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lecture = tmp_path / "lecture.srt"
    lecture.write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    assert main(["add-source", str(lecture)]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "location",
    [
        ["https://www.youtube.com/@SomeChannel"],
        ["https://www.youtube.com/channel/UCabcdefghijklmnopqrstuv/videos"],
        ["https://www.youtube.com/playlist?list=PLabc123def"],
        ["https://youtu.be/dQw4w9WgXcQ", "https://www.youtube.com/watch?v=9bZkp7q19f0&t=30s"],
        ["https://m.youtube.com/shorts/dQw4w9WgXcQ"],
        ["dQw4w9WgXcQ"],
    ],
)
def test_youtube_locations_are_added(location: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add-source", *location]) == 0
    assert "added youtube source" in capsys.readouterr().out


def test_a_folder_is_added(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add-source", str(tmp_path)]) == 0
    assert "added local source" in capsys.readouterr().out


@pytest.mark.parametrize(
    "location",
    [
        "user:hunter22@www.youtube.com/watch?v=dQw4w9WgXcQ",  # no scheme: reads as a local path
        "https://user:hunter22@www.youtube.com:99999/watch?v=dQw4w9WgXcQ",  # refused for its port
        "https://user:hunter22@vimeo.com/123",  # refused for its host
        "https://hunter22@www.youtube.com/@chan",  # a token as the user name
    ],
)
def test_a_refused_location_never_echoes_its_credentials(location: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add-source", location]) == 2
    err = capsys.readouterr().err
    assert "hunter22" not in err and err.count("\n") == 1
