"""With answers from several courses in the log, the overview offers a course select and its figures, charts and exports follow it."""

from __future__ import annotations

import csv
import io

from bot.answering.feedback import AnswerLog
from bot.console.data import overview
from pipelines.domain import Answer
from tests.bot.console.conftest import log_in
from tests.bot.console.console_seed import QUESTION_COUNT


def test_the_overview_filters_by_course_and_exports_name_it(app, seeded) -> None:
    settings, _ = seeded
    client = app.test_client()
    log_in(client)
    assert overview(settings.feedback_db_path, 30).courses == [""]  # one course (none named): no select

    # Pages keep figures until the log changes, then refresh in the background: log first, then look.
    log = AnswerLog(settings.feedback_db_path)
    for number, course in enumerate(["bio", "bio", "rag"]):
        log.record_answer(
            "discord", "931", f"9{number}", "U0BIO", Answer(f"{course} question {number}", "Not covered.", False), course=course
        )
    page = client.get("/").get_data(as_text=True)
    assert 'id="course-filter"' in page and '<option value="bio"' in page and '<option value="rag"' in page
    assert f'id="count-questions">{QUESTION_COUNT + 3}<' in page
    only_bio = client.get("/?course=bio").get_data(as_text=True)
    assert 'id="count-questions">2<' in only_bio and "course=bio" in only_bio  # the chart and exports keep the filter
    assert client.get("/charts/overview.svg?course=bio").status_code == 200
    assert 'id="count-questions">0<' in client.get("/?course=history").get_data(as_text=True)

    rows = list(csv.DictReader(io.StringIO(client.get("/export/questions.csv?days=30").get_data(as_text=True))))
    assert sorted(r["course"] for r in rows if r["course"]) == ["bio", "bio", "rag"]
    overview_rows = list(csv.DictReader(io.StringIO(client.get("/export/overview.csv?days=30&course=rag").get_data(as_text=True))))
    assert [(r["course"], r["platform"], r["not_covered"]) for r in overview_rows] == [("rag", "discord", "1")]
    escalations = list(csv.DictReader(io.StringIO(client.get("/export/escalations.csv").get_data(as_text=True))))
    assert escalations and "course" in escalations[0]
