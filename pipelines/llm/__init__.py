"""The LLM layer (issue 4): repunctuation, summaries and grounded answers through any
OpenAI-compatible chat-completions server, each with an offline fallback that needs no model.

Nothing here is required: with no ``COURSE_TA_LLM_MODEL`` every caller takes the offline path.
"""
