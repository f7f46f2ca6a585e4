"""The instructor console: a small server-rendered web app over the answer log, the ledger and the index.

``course-ta console`` (or ``course-ta serve console``) runs it on localhost. Pages: overview, coverage
gaps, most cited lecture moments, corpus, escalations; each has a chart drawn on the server and a
CSV/JSONL export. Every page needs an instructor login; every action carries a CSRF token.
"""
