"""The corpus: video sources, transcript readers, transcription, timed sentences and chunking."""
