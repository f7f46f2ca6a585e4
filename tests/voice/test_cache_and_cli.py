from __future__ import annotations

import argparse

import pytest

from bot.cli import say, voice_clone
from voice.cache import ClipCache, cache_key


def test_cache_key_depends_on_everything_that_changes_the_sound():
    base = cache_key("Hello.", "piper", "instructor", {"length_scale": None})
    assert base == cache_key("Hello.", "piper", "instructor", {"length_scale": None})
    assert (
        len(
            {
                base,
                cache_key("Hello!", "piper", "instructor", {"length_scale": None}),
                cache_key("Hello.", "tortoise", "instructor", {"length_scale": None}),
                cache_key("Hello.", "piper", "other", {"length_scale": None}),
                cache_key("Hello.", "piper", "instructor", {"length_scale": 1.2}),
            }
        )
        == 5
    )


def test_cache_round_trip_truncation_and_eviction(tmp_path):
    cache = ClipCache(tmp_path, max_bytes=25_000)
    cache.put("a" * 64, {"ogg": b"x" * 10_000}, {"duration_s": 1.0})
    hit = cache.get("a" * 64, ("ogg",))
    assert hit and hit.files["ogg"] == b"x" * 10_000 and hit.meta["duration_s"] == 1.0
    assert cache.get("a" * 64, ("mp3",)) is None
    (tmp_path / "aa" / f"{'a' * 64}.ogg").write_bytes(b"x" * 10)  # damaged behind our back
    assert cache.get("a" * 64, ("ogg",)) is None
    with pytest.raises(ValueError, match="empty"):
        cache.put("b" * 64, {"ogg": b""}, {})
    for key in "cde":
        cache.put(key * 64, {"ogg": b"y" * 10_000}, {"duration_s": 1.0})
    assert cache.size_bytes() <= 25_000
    assert cache.get("e" * 64, ("ogg",)) is not None and cache.get("a" * 64, ("ogg",)) is None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course-ta")
    subcommands = parser.add_subparsers(dest="command", required=True)
    say.register(subcommands)
    voice_clone.register(subcommands)
    return parser


def test_say_writes_a_playable_clip(make_settings, tmp_path, capsys):
    from voice.encoding import probe

    make_settings()  # isolates the environment
    out = tmp_path / "clip.ogg"
    args = _parser().parse_args(["say", "The **answer** is at 3:15 [1].", "-o", str(out), "--backends", "piper"])
    assert args.handler(args) == 0
    info = probe(out.read_bytes())
    assert info.codec == "opus" and info.duration_s > 1
    assert "piper" in capsys.readouterr().out
    args = _parser().parse_args(["say", "hello", "-o", str(tmp_path / "clip.wav")])
    assert args.handler(args) == 2
    args = _parser().parse_args(["say", "🎉", "-o", str(tmp_path / "e.mp3")])
    assert args.handler(args) == 1 and not (tmp_path / "e.mp3").exists()


def test_voice_clone_rejects_bad_clips_with_a_clear_message(make_settings, tmp_path, capsys, speech_clip):
    make_settings()
    junk = tmp_path / "junk.mp3"
    junk.write_text("not audio")
    args = _parser().parse_args(["voice", "clone", "--name", "instructor", str(junk)])
    assert args.handler(args) == 2
    assert "not an audio file" in capsys.readouterr().err
    args = _parser().parse_args(["voice", "clone", "--name", "instructor", str(speech_clip)])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "voice 'instructor': 1 clips" in out and "tortoise: not cloned" in out and "elevenlabs: not cloned" in out
