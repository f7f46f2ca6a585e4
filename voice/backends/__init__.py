"""Speech backends. Each turns text into :class:`voice.audio.Audio` in one voice, or says why it cannot."""
