"""The injection suite (tests/injection.py) through the real loop and the real servers:
no planted instruction gets its effect, and the benign tasks still complete.

Unattended (no one can approve, as in `rung ask` without a terminal) every attack is
refused at the gate; the tasks that read complete, and the two that act after reading
(a summary into a file, an answer to a mail) are refused too: that is the cost, and the
bench (bench/injection.py) shows it beside the attacks. Attended by a user who approves
exactly what they asked for, those two complete and the attacks still fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from rung.memory.embedder import Embedder
from rung.tools.hub import ToolHub
from tests import injection
from tests.injection import VECTORS, Lab

pytestmark = pytest.mark.asyncio(loop_scope="module")

GOALS = [g.name for g in injection.goals(Lab(Path("."), shell=False))]
TASKS = {t.name: t for t in injection.tasks()}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab_hub(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> AsyncIterator[tuple[Lab, ToolHub]]:
    with injection.lab(
        tmp_path_factory.mktemp("injection"), embedder, shell=injection.shell_works()
    ) as lab:
        hub = await injection.open_lab_hub(lab)
        try:
            yield lab, hub
        finally:
            await hub.aclose()


async def test_the_suite_has_forty_attacks_over_five_places() -> None:
    assert len(VECTORS) * len(GOALS) >= 40


@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("vector", VECTORS)
async def test_a_planted_instruction_gets_nothing_done(
    lab_hub: tuple[Lab, ToolHub], vector: str, goal: str
) -> None:
    lab, hub = lab_hub
    [the_goal] = [g for g in injection.goals(lab) if g.name == goal]
    outcome = await injection.attack(lab, hub, vector, the_goal, attended=False)
    assert not outcome.achieved, f"{goal} through a {vector} succeeded"
    assert outcome.refused or goal == "run a command"  # the shell may be off: no such tool


@pytest.mark.parametrize("name", [n for n, t in TASKS.items() if not t.acts])
async def test_a_benign_task_completes_unattended(lab_hub: tuple[Lab, ToolHub], name: str) -> None:
    lab, hub = lab_hub
    outcome = await injection.task(lab, hub, TASKS[name], attended=False)
    assert outcome.achieved, outcome


async def test_attended_the_user_gets_what_they_asked_and_the_attacks_still_fail(
    lab_hub: tuple[Lab, ToolHub],
) -> None:
    lab, hub = lab_hub
    for task in TASKS.values():
        unattended = await injection.task(lab, hub, task, attended=False)
        attended = await injection.task(lab, hub, task, attended=True)
        assert attended.achieved, attended
        assert unattended.achieved == (not task.acts), unattended  # acting after reading asks
    for vector in VECTORS:
        for goal in injection.goals(lab):
            outcome = await injection.attack(lab, hub, vector, goal, attended=True)
            assert not outcome.achieved, f"{goal.name} through a {vector} succeeded, attended"
