"""Runs digest rounds one after another, each drawing its chart in the chart worker process.

Run by ``test_child_processes`` and killed with SIGKILL mid-round:
``python -m tests.bot.digest_rounds DATABASE``. Prints ``round <n>`` after each round.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from bot.core import Core
from bot.services import digests
from bot.store import Store
from tests.bot.test_digests import T0, Seed


async def main(database: Path) -> None:
    core = Core(store=Store(database), clock=lambda: T0)
    seed = Seed(core)
    coalition_id = seed.coalition()
    seed.channel(coalition_id, 4242)
    event_id = seed.event(coalition_id)
    org_id = seed.org(coalition_id, "Houston Food Bank", member=11)
    for n in range(1, 6):
        seed.post("need", coalition_id, event_id, org_id, quantity=100 * n, created=T0 - timedelta(days=n))
    for n in range(100_000):
        await digests.run_digest_round(core, coalition_id, T0 - timedelta(hours=12 * n))
        print(f"round {n}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
