"""What ``course-ta status`` says about a course: whether it answers, its limits, and today's LLM spend.

An instructor who paused a course or set a budget should see it where they look first, without
opening ``courses.toml`` or the limits database.
"""

from __future__ import annotations

from pipelines.courses.catalog import Course
from pipelines.courses.limits import CourseLimits, utc_day


def course_status_lines(course: Course, limits: CourseLimits, day: str | None = None) -> list[str]:
    """Two lines: the course and whether it answers; its question rate, LLM budget and tokens spent on ``day`` (today)."""
    day = day or utc_day()
    state = f"paused (questions are refused; `course-ta course resume {course.id}` resumes)" if course.paused else "answering"
    policy = course.policy
    rate = f"{policy.questions_per_minute} questions a minute" if policy.questions_per_minute else "no question rate limit"
    spent = limits.tokens_spent(course.id, day)
    if policy.llm_daily_tokens:
        budget = f"LLM budget {policy.llm_daily_tokens:,} tokens a day, {spent:,} spent today ({day} UTC)"
    else:
        budget = "no LLM budget" + (f", {spent:,} tokens spent today ({day} UTC)" if spent else "")
    return [f"course:     {course.id} ({course.title}): {state}", f"limits:     {rate}; {budget}"]
