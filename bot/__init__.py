"""The front doors (Slack, Discord, the command line) and the answering pieces they share."""
