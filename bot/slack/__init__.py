"""The Slack front door: a Bolt app that answers @mentions and DMs in threads, with sources and a voice clip."""
