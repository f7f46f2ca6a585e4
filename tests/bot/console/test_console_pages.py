"""The pages show what the seeded answer log holds; exports are complete and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

from tests.bot.console.conftest import csrf_token, log_in
from tests.bot.console.console_seed import FORMULA_QUESTION, NOT_COVERED_COUNT, QUESTION_COUNT, SCRIPT_QUESTION, STUDENT


def test_overview_counts_and_chart(app):
    client = app.test_client()
    assert log_in(client).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert f'id="count-questions">{QUESTION_COUNT}<' in page
    assert f'id="count-not-covered">{NOT_COVERED_COUNT}<' in page
    assert 'id="count-votes">1 / 1' in page
    chart = client.get("/charts/overview.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    svg = chart.get_data(as_text=True)
    assert "<svg" in svg and "Questions per day by platform" in svg and "slack" in svg and "discord" in svg


def test_injected_questions_are_shown_as_text(app):
    client = app.test_client()
    log_in(client)
    page = client.get("/moments").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; what is RAG?" in page
    assert "DROP TABLE answers" in page  # shown as typed, and the table is still there
    assert app.extensions["course_ta_console"].cached(("x",), lambda: 1) == 1
    assert "Content-Security-Policy" in client.get("/").headers


def test_gaps_page_lists_the_groups_with_a_lecture_moment(app):
    client = app.test_client()
    log_in(client)
    page = client.get("/gaps").get_data(as_text=True)
    assert page.count('class="cluster-link"') == 4  # gpu, exam, docker, and the down-voted RAG question
    detail = client.get("/gaps/1").get_data(as_text=True)
    assert "Closest lecture moment" in detail and "#t=" in detail
    assert client.get("/gaps/99").status_code == 404
    assert "<svg" in client.get("/charts/gaps.svg").get_data(as_text=True)


def test_moments_corpus_and_escalation_pages(app, seeded):
    _, ids = seeded
    client = app.test_client()
    log_in(client)
    moments = client.get("/moments").get_data(as_text=True)
    assert "Retrieval-augmented generation, step by step" in moments and "5 citations" in moments
    assert "<svg" in client.get("/charts/moments.svg").get_data(as_text=True)
    assert client.get("/moments/ct-rag-101").status_code == 200
    corpus = client.get("/corpus").get_data(as_text=True)
    assert "Corpus" in corpus
    video = client.get("/corpus/ct-rag-101").get_data(as_text=True)
    assert "Salient points" in video and "#t=" in video
    listing = client.get("/escalations").get_data(as_text=True)
    assert "Can a TA explain the exam policy?" in listing and STUDENT not in listing  # pseudonym in the list
    detail = client.get(f"/escalations/{ids['escalation']}").get_data(as_text=True)
    assert STUDENT in detail  # in clear only where it is answered


def test_exports_neutralise_formulas_and_pseudonymize(app):
    client = app.test_client()
    log_in(client)
    response = client.get("/export/questions.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == QUESTION_COUNT
    formula = next(row for row in rows if "HYPERLINK" in row["question"])
    assert formula["question"] == "'" + FORMULA_QUESTION
    assert all(not row["student"].startswith("U0") and row["student"].startswith("s-") for row in rows)
    lines = client.get("/export/questions.jsonl").get_data(as_text=True).splitlines()
    assert any(json.loads(line)["question"] == SCRIPT_QUESTION for line in lines)
    for view in ("overview", "gaps", "moments", "corpus", "escalations"):
        for fmt in ("csv", "jsonl"):
            assert client.get(f"/export/{view}.{fmt}").status_code == 200, (view, fmt)
    escalations = list(csv.DictReader(io.StringIO(client.get("/export/escalations.csv").get_data(as_text=True))))
    assert escalations and escalations[0]["user"].startswith("s-")
    assert client.get("/export/secrets.csv").status_code == 404


def test_reply_without_credentials_says_why(make_app, seeded):
    _, ids = seeded
    app = make_app(relays={})
    client = app.test_client()
    log_in(client)
    token = csrf_token(client, f"/escalations/{ids['escalation']}")
    response = client.post(f"/escalations/{ids['escalation']}/reply", data={"reply": "hi", "csrf_token": token}, follow_redirects=True)
    assert "No slack credentials" in response.get_data(as_text=True)
    assert app.extensions["course_ta_console"].escalations.get(ids["escalation"]).status == "open"
