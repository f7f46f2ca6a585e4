"""Speech to timed text: faster-whisper as a Haystack component, fed by a streaming audio decoder."""
