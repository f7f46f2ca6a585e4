"""Two courses from different folders of the shared corpus: a question only ever searches its own course."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answering.course_desk import CourseDesk
from pipelines.courses.catalog import AnswerPolicy, Course, CourseCatalog
from pipelines.courses.course_settings import settings_for
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store
from tests.fakes.elasticsearch_wire import Cluster, WireServer

NLP_VIDEOS = ["tiZFewofSLM", "BqqfQnyjmgg", "H39Z_720T5s"]  # hf-course: pipeline, transfer learning, transformer
MATH_VIDEOS = ["-9OUyo8NFZg", "zLzLxVeqdQg", "kjBOesZCoqc"]  # 3b1b: Euler's formula, poem, linear algebra preview

NLP = Course(id="nlp", title="NLP", slack_channels=["C0NLP"], discord_channels=["111111111111111111"])
MATH = Course(id="math", title="Math", slack_channels=["C0MATH"], discord_guilds=["222222222222222222"], policy=AnswerPolicy())


def lectures(corpus: Path, folder: str, ids: list[str], target: Path) -> Path:
    target.mkdir(parents=True)
    for video_id in ids:
        shutil.copy(corpus / folder / f"{video_id}.srt", target / f"{video_id}.srt")
    return target


@pytest.fixture(scope="module")
def two_courses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CourseCatalog]:
    from tests.conftest import CORPUS

    if not (CORPUS / "hf-course" / "manifest.csv").exists():
        pytest.skip("../shared/corpus is not present")
    root = tmp_path_factory.mktemp("courses")
    base = load_settings(data_dir=root / "data", deployment=True)
    catalog = CourseCatalog(courses=[NLP, MATH], path=root / "data" / "courses.toml")
    for course, folder, ids in ((NLP, "hf-course", NLP_VIDEOS), (MATH, "3b1b", MATH_VIDEOS)):
        report = Ingestor(settings_for(base, course)).ingest([lectures(CORPUS, folder, ids, root / course.id)])
        assert report.count("added") == 3
    return root / "data", catalog


@pytest.mark.timeout(900)
def test_a_question_in_a_course_channel_cites_only_that_course(two_courses: tuple[Path, CourseCatalog]) -> None:
    data_dir, catalog = two_courses
    desk = CourseDesk(load_settings(data_dir=data_dir, deployment=True), catalog)
    in_nlp = desk.slack("U1", "C0NLP", "What does the pipeline function do?")
    assert in_nlp.service is not None and in_nlp.course == NLP
    answer = in_nlp.service.answer(in_nlp.question)
    assert answer.citations and {c.video_id for c in answer.citations} <= set(NLP_VIDEOS)
    # The same math question asked in each course's channel: the NLP course never cites the math lectures.
    math_question = "What is Euler's formula for graphs?"
    from_math = desk.discord("U2", "222222222222222222", "333333333333333333", math_question)
    assert from_math.service is not None
    math_answer = from_math.service.answer(from_math.question)
    assert math_answer.citations and {c.video_id for c in math_answer.citations} <= set(MATH_VIDEOS)
    from_nlp = desk.slack("U3", "C0NLP", math_question)
    assert from_nlp.service is not None
    assert {c.video_id for c in from_nlp.service.answer(from_nlp.question).citations} <= set(NLP_VIDEOS)


@pytest.mark.timeout(900)
def test_dms_route_by_prefix_and_then_by_the_last_course(two_courses: tuple[Path, CourseCatalog]) -> None:
    data_dir, catalog = two_courses
    desk = CourseDesk(load_settings(data_dir=data_dir, deployment=True), catalog)
    first = desk.slack("U9", "D0DM", "what is transfer learning?", direct=True)
    assert first.service is None and "Which course" in first.refusal
    chosen = desk.slack("U9", "D0DM", "[math] what is Euler's formula?", direct=True)
    assert chosen.course == MATH and chosen.question == "what is Euler's formula?"
    # A new desk (a restarted bot) still knows the student's last course.
    again = CourseDesk(load_settings(data_dir=data_dir, deployment=True), catalog).slack("U9", "D0DM", "and a poem?", direct=True)
    assert again.course == MATH


@pytest.mark.timeout(900)
def test_each_course_writes_only_its_own_elasticsearch_alias(tmp_path: Path) -> None:
    from tests.conftest import CORPUS

    if not (CORPUS / "hf-course" / "manifest.csv").exists():
        pytest.skip("../shared/corpus is not present")
    with WireServer(Cluster()) as es:
        base = load_settings(data_dir=tmp_path / "data", elasticsearch_url=es.url, deployment=True)
        for course, folder, ids in ((NLP, "hf-course", NLP_VIDEOS[:1]), (MATH, "3b1b", MATH_VIDEOS[:1])):
            Ingestor(settings_for(base, course)).ingest([lectures(CORPUS, folder, ids, tmp_path / course.id)])
        for course, ids in ((NLP, NLP_VIDEOS[:1]), (MATH, MATH_VIDEOS[:1])):
            store = open_store(settings_for(base, course)).store
            videos = {d.meta.get("video_id") for d in store.filter_documents()}
            assert videos == set(ids), course.id
        assert es.cluster.behind("course-ta-nlp") != es.cluster.behind("course-ta-math")
