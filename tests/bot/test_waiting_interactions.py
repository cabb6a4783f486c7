"""Commands go before background sends: the dispatcher waits for arrived interactions to start."""

from __future__ import annotations

import asyncio

from bot.app import WaitingInteractions


async def test_a_send_waits_until_every_arrived_command_has_started():
    waiting = WaitingInteractions()
    waiting.arrived()
    waiting.arrived()
    order: list[str] = []

    async def background_send() -> None:
        await waiting.until_none(at_most=60)
        order.append("send")

    task = asyncio.create_task(background_send())
    await asyncio.sleep(0)  # one turn of the loop: the send is now waiting
    order.append("first command")
    waiting.started()
    await asyncio.sleep(0)
    order.append("second command")
    waiting.started()
    await task

    assert order == ["first command", "second command", "send"]


async def test_with_nothing_waiting_a_send_goes_at_once_and_counts_never_go_negative():
    waiting = WaitingInteractions()
    waiting.started()  # a start without an arrival (an interaction from before a restart) is harmless

    await waiting.until_none(at_most=60)

    assert waiting.count == 0
