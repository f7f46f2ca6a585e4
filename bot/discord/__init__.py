"""The Discord front door: slash commands (/ask, /summary, /sources, /join, /leave, /stop), cited
answers as embeds with the voice clip attached, and playback in the caller's voice channel.

Everything slow (answering, speaking) runs in worker threads after the interaction is deferred, so
Discord's 3-second limit is met by design rather than by luck.
"""
