"""Issue 14, finding 6: plan parsing was quadratic and ran on the event loop (362 KB without punctuation: 33 s).

Two quadratic parts were found and made linear: joining hard-wrapped lines re-copied and re-shadowed the growing
line for every line added (`lines.unwrap`), and every numbered line was compared with every open run of numbers
(`outline.chains`: thousands of lines numbered “1.”). Parsing now runs in a child process with a time and
memory budget (`backend.core.budget`), so even a document that is slow for another reason stalls nobody.
"""

import asyncio
import time

import pytest

from backend.config import get_settings
from backend.core import budget
from backend.core.budget import BudgetExceeded, run_bounded
from backend.errors import InvalidInput
from backend.plans import service as plans
from backend.plans.parser import parse_plan

UNIT = "加强学校管理提升教育质量"


def wrapped_without_punctuation(size: int) -> str:
    """`size` bytes of 40-character lines with no sentence end before the first heading (a PDF's text layer)."""
    body = UNIT * (size // 3 // len(UNIT))
    lines = [body[i:i + 40] for i in range(0, len(body), 40)]
    return "\n".join(lines) + "\n一、总体要求\n1.一\n2.二\n二、其他\n1.一\n2.二\n"


def all_numbered_one(count: int) -> str:
    return "\n".join("1.加强管理" for _ in range(count))


@pytest.mark.parametrize("text", [wrapped_without_punctuation(362 * 1024), all_numbered_one(16000)],
                         ids=["362KB-wrapped-no-punctuation", "16000-lines-numbered-1"])
def test_big_texts_without_punctuation_parse_in_bounded_time(text):
    started = time.monotonic()
    plan = parse_plan(text)
    elapsed = time.monotonic() - started
    assert elapsed < 3, f"{len(text.encode()) // 1024} KB took {elapsed:.1f} s"
    assert plan.sections or plan.discarded


async def test_importing_it_does_not_hold_the_event_loop(bureau):
    """The import's parse runs elsewhere: a ticker on the event loop keeps ticking while it runs."""
    from backend.core.roles import Role
    from backend.db import unit_of_work

    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker():
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    text = wrapped_without_punctuation(362 * 1024) + all_numbered_one(8000)
    async with unit_of_work(bureau.tenant.id) as session:
        draft = await plans.start_import(session, bureau.actors[Role.admin], filename="", pasted=text)
    stop.set()
    await ticking
    assert draft.document["sections"]
    assert max(gaps) < 0.5, f"the event loop stood still for {max(gaps):.1f} s"


async def test_a_parse_over_its_time_budget_is_stopped_with_a_message(monkeypatch):
    started = time.monotonic()
    with pytest.raises(BudgetExceeded):
        await run_bounded(time.sleep, 30, seconds=0.5)
    assert time.monotonic() - started < 5  # the child was killed, not waited for

    async def too_slow(*_args, **_kwargs):
        raise BudgetExceeded("time")

    monkeypatch.setattr(budget, "run_bounded", too_slow)
    with pytest.raises(InvalidInput) as refused:
        await plans.parse_bounded(b"1.x", "plan.txt")
    assert f"{get_settings().plan_parse_seconds} 秒内没有解析完" in refused.value.message
    assert refused.value.field == "file"


async def test_a_parse_over_its_memory_budget_is_refused():
    with pytest.raises(BudgetExceeded) as exceeded:
        await run_bounded(bytearray, 2**31, seconds=10, memory_bytes=2**28)
    assert exceeded.value.reason == "memory"
