"""Discord failing under the bot: the state is committed, and each notice arrives once the fault clears, once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import discord
from multidict import CIMultiDict, CIMultiDictProxy

from cogs.dispatcher import dispatcher_of
from cogs.dispatcher_policy import DEFAULT_RETRY_AFTER_S, backoff_seconds, is_permanent, retry_after_of

MESSAGES = "/channels/*/messages"


def core_of(world):
    return world.env.bot.core


def outbox_rows(world) -> list[dict]:
    return list(core_of(world).store.db.query("SELECT * FROM outbox ORDER BY id"))


def audit_actions(world) -> list[str]:
    return [row["action"] for row in core_of(world).store.db.query("SELECT action FROM audit_log ORDER BY id")]


def posts_to(world, channel_id: int) -> list:
    return [r for r in world.env.http_requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"]


async def deliver(world) -> int:
    sent = await dispatcher_of(world.env.bot).deliver_due()
    await world.env.settle()
    return sent


async def set_channel(world, kind: str) -> None:
    result = await world.admin.slash(world.general, "config channel", kind=kind, channel=world.channels[kind])
    assert result.ephemeral


async def register(world, member, name="Houston Food Bank"):
    return await member.slash(
        world.general, "org register", name=name, sectors="food", location="Houston", contact="ops@example.org"
    )


async def test_registration_note_waits_out_a_500_and_arrives_exactly_once(world, clock, make_bot):
    await set_channel(world, "log")
    log_channel = world.channels["log"]
    world.env.inject_error("POST", MESSAGES, status=500, times=1)

    result = await register(world, world.alice)

    assert "pending" in result.response.content
    assert core_of(world).store.orgs.by_name(1, "Houston Food Bank") is not None
    assert log_channel.history() == []
    [row] = outbox_rows(world)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("500")

    assert await deliver(world) == 0  # not due yet: the backoff holds
    clock.advance(seconds=backoff_seconds(0))
    assert await deliver(world) == 1

    assert [m.content for m in log_channel.history()] == [row_text(row)]
    clock.advance(hours=1)
    assert await deliver(world) == 0
    await world.env.restart_bot(make_bot())  # a restart reads the outbox afresh and must not resend
    assert await deliver(world) == 0
    assert len(log_channel.history()) == 1
    tries = posts_to(world, log_channel.id)
    assert len(tries) == 2  # the failed try and the one that landed
    created = int(datetime.fromisoformat(row["created_at"]).timestamp())
    # Both carry the row's own nonce, so Discord can drop a repeat of a send whose "sent" mark was lost.
    assert tries[0].json["nonce"] == tries[1].json["nonce"] == f"ob{row['id']}-{created}"
    assert tries[0].json["enforce_nonce"] is True


def row_text(row: dict) -> str:
    return json.loads(row["payload"])["text"]


async def test_event_alert_survives_two_500s_with_growing_backoff(world, clock):
    await set_channel(world, "alerts")
    alerts = world.channels["alerts"]
    world.env.inject_error("POST", f"/channels/{alerts.id}/messages", status=503, times=2)

    await world.admin.slash(world.general, "event open", name="Hurricane Delta")

    assert core_of(world).store.events.open_by_name(1, "Hurricane Delta") is not None
    clock.advance(seconds=backoff_seconds(0))
    assert await deliver(world) == 0
    [row] = outbox_rows(world)
    assert row["attempts"] == 2
    # Halfway through the second backoff, not one second before its end: the bot's clock is this test's, which
    # simcord's virtual time does not move, so the pump's nap to the row's moment never reaches it. A nap of
    # one second woke by simcord's real-time fallback during the settle below, again each second, and the
    # settle timed out now and then.
    clock.advance(seconds=backoff_seconds(1) / 2)
    assert await deliver(world) == 0  # early
    clock.advance(seconds=backoff_seconds(1) / 2)
    assert await deliver(world) == 1

    assert [m.content for m in alerts.history()] == ["Event opened: **Hurricane Delta**."]
    assert outbox_rows(world)[0]["status"] == "sent"


async def test_a_rate_limit_pauses_only_its_own_destination(world, clock):
    await set_channel(world, "log")
    await set_channel(world, "alerts")
    world.env.inject_error("POST", MESSAGES, status=429, times=1)

    await register(world, world.alice)  # the 429 lands on this note
    await world.admin.slash(world.general, "event open", name="Flood")  # another channel: not held back

    assert world.channels["log"].history() == [] and len(world.channels["alerts"].history()) == 1
    clock.advance(seconds=DEFAULT_RETRY_AFTER_S)
    assert await deliver(world) == 1
    assert len(world.channels["log"].history()) == 1 and len(world.channels["alerts"].history()) == 1


async def test_a_gone_channel_is_given_up_audited_and_noted_for_admins(world, clock):
    await set_channel(world, "log")
    await set_channel(world, "alerts")
    alerts = world.channels["alerts"]
    world.env.inject_error("POST", f"/channels/{alerts.id}/messages", status=404, code=10003, message="Unknown Channel")

    await world.admin.slash(world.general, "event open", name="Wildfire")

    rows = outbox_rows(world)
    assert rows[0]["status"] == "failed" and rows[0]["attempts"] == 1
    assert "outbox.failed" in audit_actions(world)
    [note] = world.channels["log"].history()
    assert "Could not deliver a channel message" in note.content and f"<#{alerts.id}>" in note.content
    clock.advance(hours=2)
    assert await deliver(world) == 0
    assert len(posts_to(world, alerts.id)) == 1  # never tried again


async def test_closed_dms_are_given_up_and_admins_told_who_missed_out(world):
    await set_channel(world, "log")
    await register(world, world.alice)
    world.env.inject_error("POST", MESSAGES, status=403, code=50007, message="Cannot send messages to this user")

    await world.admin.slash(world.general, "org verify", org="Houston Food Bank")

    dm_row = next(r for r in outbox_rows(world) if r["target"] == f"user:{world.alice.user.id}")
    assert dm_row["status"] == "failed"
    failure = core_of(world).store.audit.recent(1, action_prefix="outbox.failed")
    assert failure and failure[0].subject == f"user:{world.alice.user.id}"
    note = world.channels["log"].last_message
    assert "Could not deliver a direct message" in note.content and f"<@{world.alice.user.id}>" in note.content


async def test_a_failed_note_to_a_gone_log_channel_does_not_chain(world, clock):
    await set_channel(world, "log")
    await set_channel(world, "alerts")
    world.env.inject_error("POST", MESSAGES, status=404, code=10003, message="Unknown Channel", times=2)

    await world.admin.slash(world.general, "event open", name="Quake")
    clock.advance(hours=1)
    await deliver(world)

    statuses = [(r["kind"], r["status"]) for r in outbox_rows(world)]
    assert statuses == [("notice", "failed"), ("delivery_failure", "failed")]


async def test_a_row_that_cannot_render_does_not_block_the_rows_behind_it(world, clock):
    await set_channel(world, "alerts")
    core = core_of(world)
    with core.store.atomic():
        broken = core.store.outbox.enqueue(1, "notice", f"channel:{world.channels['alerts'].id}", {}, clock.now)

    await world.admin.slash(world.general, "event open", name="Storm")

    assert [m.content for m in world.channels["alerts"].history()] == ["Event opened: **Storm**."]
    row = core.store.outbox.get(broken)
    assert row["status"] == "pending" and row["attempts"] >= 1 and "KeyError" in row["last_error"]


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _http_error(status: int, headers: dict[str, str], code: int = 0) -> discord.HTTPException:
    class Response:  # the parts of an aiohttp response that discord.HTTPException reads
        def __init__(self) -> None:
            self.status = status
            self.reason = "Too Many Requests"
            self.headers = CIMultiDictProxy(CIMultiDict(headers))

    return discord.HTTPException(Response(), {"code": code, "message": "error"})  # type: ignore[arg-type]


def test_retry_after_is_read_exactly_from_discord_and_its_headers():
    assert retry_after_of(discord.RateLimited(7.25)) == 7.25
    assert retry_after_of(_http_error(429, {"Retry-After": "3.5"})) == 3.5
    assert retry_after_of(_http_error(429, {"X-RateLimit-Reset-After": "0.75"})) == 0.75
    assert retry_after_of(_http_error(429, {})) == DEFAULT_RETRY_AFTER_S


def test_permanent_errors_are_client_refusals_not_outages():
    assert is_permanent(_http_error(404, {}, code=10003))
    assert is_permanent(_http_error(403, {}, code=50007))
    assert is_permanent(_http_error(400, {}, code=50035))
    assert not is_permanent(_http_error(500, {}))
    assert not is_permanent(_http_error(429, {}))
    assert not is_permanent(_http_error(408, {}))


async def test_a_retry_leaves_on_its_own_once_its_time_comes(world, clock):
    await set_channel(world, "alerts")
    world.env.inject_error("POST", MESSAGES, status=502, times=1)
    await world.admin.slash(world.general, "event open", name="Tornado")
    assert world.channels["alerts"].history() == []

    clock.advance(seconds=backoff_seconds(0))
    await world.env.advance_time(backoff_seconds(0))  # no command, no manual kick: the dispatcher wakes for it

    assert [m.content for m in world.channels["alerts"].history()] == ["Event opened: **Tornado**."]
