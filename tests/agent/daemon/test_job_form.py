"""A job as the user types it (`rung jobs add|edit`, the page's form): every mistake is one
line with a hint and stores nothing; an edit changes what it names and keeps the rest,
down to the instant an interval counts from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rung.agent.daemon.job_form import JobForm, add_job, edit_job
from rung.agent.daemon.ledger import Ledger
from rung.config.errors import RungError
from rung.config.settings import Settings

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "jobs.db")


@pytest.mark.parametrize(
    ("form", "said"),
    [
        (JobForm("new", "Do it", cron="0 8 * *"), "cron"),
        (JobForm("new", "Do it", every="2x"), "2x"),
        (JobForm("new", "Do it", at="2026-12-01 09:00"), "in the past"),
        (JobForm("new", "Do it", cron="0 8 * * *", tz="Mars/Olympus"), "Mars/Olympus"),
        (JobForm("new", "Do it", every="1h", tools=["fetch"]), "SERVER:TOOL"),
        (JobForm("heartbeat", "Do it", every="1h"), "Rung's own runs"),
        (JobForm("a b", "Do it", every="1h"), "not a job name"),
        (JobForm("new", "   ", every="1h"), "nothing to do"),
        (JobForm("new", "Do it", every="1h", missed="sometimes"), "missed run"),
        (JobForm("new", "Do it", every="1h", notify=["webhook"]), "webhook_url"),
        (JobForm("new", "Do it", every="1h", tier="boss"), "boss"),
        (JobForm("new", "Do it"), "exactly one"),
        (JobForm("new", "Do it", cron="0 8 * * *", every="1h"), "exactly one"),
    ],
)
def test_a_bad_job_is_one_line_and_stores_nothing(ledger: Ledger, form: JobForm, said: str) -> None:
    with pytest.raises(RungError) as caught:
        add_job(ledger, form, Settings(), NOW)
    assert said in caught.value.message and caught.value.hint
    assert ledger.jobs() == []


def test_an_edit_changes_what_it_names_and_keeps_the_rest(ledger: Ledger) -> None:
    form = JobForm("poll", "Check the feed", every="2h", tz="Europe/Berlin", tools=["fetch:*"])
    added = add_job(ledger, form, Settings(), NOW)
    later = NOW.replace(hour=10)
    same = JobForm("poll", "Check the feed", every="2h", tz="Europe/Berlin", tools=["fetch:*"])
    with pytest.raises(RungError, match="nothing to change"):
        edit_job(ledger, same, Settings(), later)  # the page sends every field, changed or not
    edited = edit_job(ledger, JobForm("poll", tier="agent", missed="all"), Settings(), later)
    assert edited.schedule == added.schedule  # the interval still counts from 09:00
    assert (edited.tier, edited.missed, edited.tools) == ("agent", "all", ("fetch:*",))
    moved = edit_job(ledger, JobForm("poll", tz="America/New_York"), Settings(), later)
    assert (moved.schedule.spec, moved.schedule.tz) == ("2h", "America/New_York")
    cleared = edit_job(ledger, JobForm("poll", tier="", tools=[]), Settings(), later)
    assert (cleared.tier, cleared.tools) == (None, ())
    with pytest.raises(RungError, match="exactly one"):
        edit_job(ledger, JobForm("poll", cron="0 8 * * *", at="2027-01-01 08:00"), Settings())
    assert ledger.get("poll") == cleared  # a refused edit changed nothing
