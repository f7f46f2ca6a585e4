"""Small generated lecture folders (SRT files + manifest) for sync tests: no shared corpus needed."""

from __future__ import annotations

from pathlib import Path

from lecture_audio import LECTURE_PARAGRAPHS


def _ts(seconds: float) -> str:
    millis = int(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d},{millis % 1000:03d}"


def write_lectures(folder: Path, count: int, paragraphs_each: int = 6, prefix: str = "lecture") -> list[str]:
    """``count`` SRT lectures ``<prefix>000``… (different paragraph mixes, ~4 s per sentence) and a manifest.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    rows = ["video_id,title,url,series"]
    for number in range(count):
        video_id = f"{prefix}{number:03d}"
        chosen = [LECTURE_PARAGRAPHS[(number + k) % len(LECTURE_PARAGRAPHS)] for k in range(paragraphs_each)]
        sentences = [s.strip() + "." for p in chosen for s in p.split(".") if s.strip()]
        blocks = []
        for index, sentence in enumerate(sentences):
            blocks.append(f"{index + 1}\n{_ts(index * 4.0)} --> {_ts(index * 4.0 + 3.8)}\n{sentence} (part {number})\n")
        (folder / f"{video_id}.srt").write_text("\n".join(blocks), encoding="utf-8")
        rows.append(f"{video_id},Lecture {number}: {chosen[0].split('.')[0]},https://www.youtube.com/watch?v=x{number:010d},Test series")
        ids.append(video_id)
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ids
