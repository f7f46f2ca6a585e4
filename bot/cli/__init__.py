"""One module per ``course-ta`` subcommand: ``register(subparsers)`` adds it."""
