"""Why a transcript file could not be read, in words a user can act on."""


class TranscriptError(ValueError):
    """The file is not a transcript we can read (empty, binary, malformed); the message says which."""
