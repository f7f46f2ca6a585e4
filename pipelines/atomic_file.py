"""Replacing a small text file in one step, so a crash or a reader never sees half of it.

Transcripts, cleaned sentences, summaries, the LLM cache and the courses file are all written this
way: the text goes to a unique temporary file in the same folder, is flushed to disk, and is renamed
over the old file (``os.replace`` is atomic on one file system). A symlink is followed and its target
replaced, so a link (into a reviewed checkout, say) stays a link, and the file keeps its permissions.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> str:
    """Replace the file ``path`` names with ``text`` (UTF-8, line endings as given); returns the sha256 of what was written.

    The old file or the new one is there at every moment; nothing is left behind when writing fails.
    New files get mode 0644.
    """
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    data = text.encode("utf-8")
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()
