"""Offline mode: the real bot against a simulated Discord (simcord), with a demo server to act in.

A newcomer, a trainer or a drill runs every command here without a token: the
bot is the one ``create_bot`` builds, only Discord is simulated. A local page
(simcord's Preview, loopback only) shows the ops channel with a slash-command
composer and clickable buttons; the person picks which demo member they act as.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import re
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import discord
import simcord

from bot.app import create_bot
from bot.errors import CoalesceError

log = logging.getLogger("coalesce.sandbox")

SAMPLE_QUAKE = Path(__file__).resolve().parent / "config" / "sample_quake.geojson"
NOTICE_KINDS = ("needs", "offers", "matches", "digest", "alerts", "log")

DEMO_ORGS = (
    ("alice", "Houston Food Bank", "food, wash", "Houston", "+1 713 555 0101 · ops@hfb.example"),
    ("bob", "Bayou Shelter Network", "shelter, camp", "Baytown", "+1 281 555 0102 · desk@bayou.example"),
    ("carol", "Coastal Medics", "health", "Galveston", "+1 409 555 0103 · triage@medics.example"),
)


class DemoWorld:
    """The simulated server: one ops channel for every notice, an admin, three coordinators, a volunteer."""

    def __init__(self, env: simcord.Env) -> None:
        self.env = env
        self.guild = env.create_guild("Coalesce Demo: Gulf Coast")
        self.ops = self.guild.create_text_channel("relief-ops")
        admins = self.guild.create_role("Coalition admin", permissions=discord.Permissions(manage_guild=True))
        self.admin = self.guild.add_member(env.create_user("dana", global_name="Dana (admin)"), roles=[admins])
        self.coordinators = {
            name: self.guild.add_member(env.create_user(name, global_name=name.title())) for name, *_ in DEMO_ORGS
        }
        self.volunteer = self.guild.add_member(env.create_user("vic", global_name="Vic (volunteer)"))

    @property
    def members(self) -> list[Any]:
        return [self.admin, *self.coordinators.values(), self.volunteer]

    async def seed(self) -> None:
        """Set the server up the way its people would, through the real slash commands."""
        for kind in NOTICE_KINDS:
            await self.admin.slash(self.ops, "config channel", kind=kind, channel=self.ops)
        await self.admin.slash(self.ops, "event open", name="Hurricane Delta", location="Houston", radius_km=300)
        for member_name, org, sectors, city, contact in DEMO_ORGS:
            member = self.coordinators[member_name]
            await member.slash(self.ops, "org register", name=org, sectors=sectors, location=city, contact=contact)
        for _, org, *_ in DEMO_ORGS[:2]:
            await self.admin.slash(self.ops, "org verify", org=org)
        commands = set(self.admin.available_commands(self.ops))
        if "need post" in commands:
            await self.coordinators["alice"].slash(
                self.ops,
                "need post",
                sector="wash",
                item="bottled water",
                quantity=500,
                unit="bottles",
                location="Houston",
                urgency="critical",
            )
            # An offer nearby, so the page opens on a live proposal with its buttons.
            await self.coordinators["bob"].slash(
                self.ops,
                "offer post",
                sector="wash",
                item="drinking water",
                quantity=300,
                unit="bottles",
                location="Baytown",
            )


def transcript(channel: Any, *, limit: int = 40) -> str:
    """The channel's history as plain text, oldest first."""
    lines = []
    for message in list(channel.history())[-limit:]:
        text = transcript_line(message)
        buttons = [c.label for row in message.components for c in getattr(row, "children", []) if c.label]
        if buttons:
            text += " " + " ".join(f"({label})" for label in buttons)
        lines.append(f"{message.author.display_name}: {text}")
    return "\n".join(lines)


def print_bot_dms(bot: discord.Client, world: DemoWorld) -> None:
    """DMs are not on the page: show each one the bot sends in the terminal instead."""

    async def on_message(message: discord.Message) -> None:
        if message.guild is None and message.author == bot.user:
            names = [m.user.name for m in world.members if m.user.dm_channel.id == message.channel.id]
            text = message.content or " / ".join(e.title or "" for e in message.embeds)
            for embed in message.embeds:
                text += "".join(f"\n    {f.name}: {f.value}" for f in embed.fields)
            print(f"[DM to {names[0] if names else 'someone'}] {text}", flush=True)

    bot.add_listener(on_message, "on_message")


async def run_sandbox(
    database: Path | None,
    *,
    settings: dict[str, object],
    port: int | None,
    seed: bool = True,
    once: bool = False,
    console: bool = False,
) -> int:
    """Offline mode; ``database`` None means a fresh database of this run's own, removed when it ends."""
    with own_database(database) as path:
        return await _run(path, settings=settings, port=port, seed=seed, once=once, console=console)


async def _run(
    database: Path, *, settings: dict[str, object], port: int | None, seed: bool, once: bool, console: bool
) -> int:
    bot = create_bot(database, watch_feeds=False, **settings)  # nothing leaves the machine: no feed is polled
    print("Coalesce offline mode: a simulated Discord on this machine (no token, nothing leaves it).", flush=True)
    async with simcord.run(bot, settle_timeout=30) as env:
        await bot.user.edit(username="Coalesce")
        world = DemoWorld(env)
        print_bot_dms(bot, world)
        if seed:
            await world.seed()
        if once:
            print(f"\n#{world.ops.name} now shows:\n{transcript(world.ops)}", flush=True)
            return 0
        if not console:
            # The configured port first; if something else holds it, any free one; else the console.
            for attempt in dict.fromkeys([port, None]):
                try:
                    async with open_preview(env, world, attempt) as preview:
                        print_instructions(preview.url, world)
                        await preview.wait_closed()
                    return 0
                except (OSError, ImportError, simcord.SetupError) as exc:
                    reason = exc
                    log.warning("the browser page could not start on port %s: %s", attempt or "any", exc)
            print(f"The browser page could not start ({reason}); here is the terminal console.", flush=True)
        await run_console(world, sys.stdin)
    return 0


class DatabaseInUse(CoalesceError):
    """Another offline mode is running on this database file."""


@contextlib.contextmanager
def own_database(database: Path | None):
    """A database this run alone uses, fresh: its own temporary file, or ``database`` once locked.

    The demo starts afresh, so the file is recreated; a second offline mode on the same
    file would delete the first one's live database, so it refuses instead (the lock is
    released by the OS when the process ends, however it ends).
    """
    if database is None:
        with tempfile.TemporaryDirectory(prefix="coalesce-sandbox-") as folder:
            yield Path(folder) / "sandbox.db"
        return
    database = Path(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{database}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"another offline mode is running on {database}; stop it first, or leave out --database "
                "so that this run gets a database of its own"
            ) from None
        fresh_database(database)
        yield database


def fresh_database(database: Path) -> None:
    """The demo starts afresh each time; a real deployment's database is never touched here."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{database}{suffix}").unlink()


def open_preview(env: simcord.Env, world: DemoWorld, port: int | None):
    return env.preview(world.ops, viewers=world.members, layout="channel", port=port)


def print_instructions(url: str, world: DemoWorld) -> None:
    people = ", ".join(m.user.name for m in world.members)
    print(
        f"""
Open this address in a browser on this machine:

    {url}

You are in the server "{world.guild.name}", channel #{world.ops.name}, where every notice goes.
Switch who you act as with the viewer picker ({people}): dana is a server admin;
alice and bob coordinate verified organisations; carol's is pending; vic is a volunteer.
Type / in the composer for the commands, e.g. /need post or /offer post, and click the buttons
on match proposals. Direct messages the bot sends appear in this terminal.
Press Ctrl-C to stop; the demo starts afresh next time.""",
        flush=True,
    )


CONSOLE_HELP = """Type as a member of the demo server, one line at a time:
    alice /org list
    dana /org verify org:Coastal Medics
    bob /offer post sector:wash item:bottled water quantity:200 location:Baytown notes:dock B, see http://x.org
    alice click M-1 accept        (accept, decline, deliver or cancel a match)
    show                          (what #relief-ops shows)
    advance 6h                    (move simulated time on: 90m, 6h, 2d, 1h30m; digests and reminders fall due)
    quake                         (replay a sample M 6.1 quake from the USGS feed; then: dana click quake)
    quit                          (or Ctrl-C)
Members: {people}. Options are name:value; a value runs to the next option name of the command."""

_OPTION = re.compile(r"(?:^|\s)([a-z_]+):")
_DURATION = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_options(text: str, names: Iterable[str] | None = None) -> dict[str, str]:
    """``"name:Relief Now sectors:food"`` -> ``{"name": "Relief Now", "sectors": "food"}``.

    Only ``names`` (the command's own options, when given) start a new option, so a
    value may hold colons and URLs: ``notes:dock B, see http://example.org/map``.
    """
    known = None if names is None else set(names)
    found = [m for m in _OPTION.finditer(text) if known is None or m.group(1) in known]
    return {m.group(1): text[m.end() : found[i + 1].start() if i + 1 < len(found) else len(text)].strip()
            for i, m in enumerate(found)}  # fmt: skip


def parse_duration(text: str) -> timedelta:
    """``"6h"``, ``"90m"``, ``"1h30m"``, ``"2d"`` -> a positive timedelta; ValueError otherwise."""
    compact = "".join(text.lower().split())
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: write it like 90m, 6h, 2d or 1h30m")
    duration = timedelta()
    for number, unit in parts:
        duration += timedelta(**{_UNITS[unit]: int(number)})
    if not timedelta(0) < duration <= timedelta(days=60):
        raise ValueError("advance between one second and 60 days at a time")
    return duration


async def typed_lines(lines: TextIO) -> AsyncIterator[str]:
    """Lines as they are typed, without holding up the end of the program.

    A worker of the loop's executor blocked in ``readline`` would keep the process
    alive after Ctrl-C until Enter; a daemon thread does not.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        while True:
            line = lines.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line)
            if not line:
                return

    threading.Thread(target=read, name="console input", daemon=True).start()
    while line := await queue.get():
        yield line


async def run_console(world: DemoWorld, lines: TextIO) -> None:
    """The terminal stand-in for the browser page: slash commands, button clicks and time travel, typed."""
    people = {m.user.name: m for m in world.members}
    print(CONSOLE_HELP.format(people=", ".join(people)), flush=True)
    seen = len(list(world.ops.history()))
    async for raw in typed_lines(lines):  # the loop keeps running while a person types
        line = raw.strip()
        if line in ("quit", "exit"):
            break
        if not line:
            continue
        if line == "show":
            print(transcript(world.ops), flush=True)
            continue
        name, _, rest = line.partition(" ")
        if name == "advance":
            try:
                duration = parse_duration(rest)
            except ValueError as exc:
                print(exc, flush=True)
                continue
            try:
                await advance(world.env, duration)
            except TimeoutError:
                print("The bot is still busy with what fell due; time stopped there.", flush=True)
            print(f"Simulated time is now {world.env.now():%a %d %b %Y %H:%M} UTC.", flush=True)
        elif name == "quake":
            print(await replay_sample_quake(world), flush=True)
        else:
            member = people.get(name)
            if member is None:
                print(f"Who is {name!r}? Start the line with one of: {', '.join(people)}.", flush=True)
                continue
            try:
                answer = await act(world, member, people, rest.strip())
            except (simcord.SetupError, simcord.OptionError, ValueError) as exc:
                print(f"Discord would not send that: {exc}", flush=True)
                continue
            print(answer, flush=True)
        messages = list(world.ops.history())
        for message in messages[seen:]:
            print(f"  #{world.ops.name} · {transcript_line(message)}", flush=True)
        seen = len(messages)


# Time travel goes an hour at a time: each step steps through every timer due in it (the outbox polls each
# second) within the simulator's settle deadline, which a whole day at once would outrun on a busy machine.
TRAVEL_STEP = timedelta(hours=1)


async def advance(env: simcord.Env, duration: timedelta) -> None:
    """Move simulated time on by ``duration``, letting every timer due on the way run."""
    left = duration
    while left > timedelta(0):
        step = min(left, TRAVEL_STEP)
        await env.advance_time(step.total_seconds())
        left -= step


def option_names(bot: discord.Client, path: str) -> list[str] | None:
    """The options of the slash command at ``path`` ("need post"), or None if there is no such command."""
    tree = getattr(bot, "tree", None)
    if tree is None:
        return None
    for command in tree.walk_commands():
        if command.qualified_name == path and isinstance(command, discord.app_commands.Command):
            return [parameter.display_name for parameter in command.parameters]
    return None


async def act(world: DemoWorld, member: Any, people: dict[str, Any], command: str) -> str:
    if command.strip() == "click quake":
        message, custom_id = _hazard_button(world)
        result = await member.click(message, custom_id=custom_id)
    elif command.startswith("click "):
        _, ref, action = [*command.split(), "", ""][:3]
        match_id = ref.upper().removeprefix("M-")
        message = next((m for m in reversed(list(world.ops.history())) if f"**M-{match_id}**" in m.content), None)
        if message is None:
            raise ValueError(f"no message shows match {ref} in #{world.ops.name}")
        result = await member.click(message, custom_id=f"coalesce:match:{match_id}:{action}")
    else:
        path, _, options_text = command.removeprefix("/").partition(" ")
        words = path.split()
        if len(words) == 1 and options_text and ":" not in options_text.split()[0]:
            # "/org list" typed as two words: the subcommand is the first word of what follows.
            sub, _, options_text = options_text.partition(" ")
            words.append(sub)
        options: dict[str, Any] = parse_options(options_text, option_names(world.env.bot, " ".join(words)))
        for key, value in options.items():
            if value in people:
                options[key] = people[value]
            elif value.lstrip("-").isdigit():
                options[key] = int(value)
            elif value in ("true", "false"):
                options[key] = value == "true"
            elif value.startswith("#") and value[1:] == world.ops.name:
                options[key] = world.ops
        result = await member.slash(world.ops, " ".join(words), **options)
    reply = result.response or (result.followups[-1] if result.followups else None)
    if reply is None:
        return "(no answer)"
    privacy = "only you see this" if result.ephemeral else "everyone sees this"
    return f"Coalesce ({privacy}): {transcript_line(reply)}"


def _sample_quake() -> bytes:
    return SAMPLE_QUAKE.read_bytes()


async def replay_sample_quake(world: DemoWorld) -> str:
    """A drill: the demo coalition watches USGS quakes around Houston, and a sample M 6.1 quake arrives.

    The sample (config/sample_quake.geojson, the USGS format) goes through the same parsing and alerting as
    a polled feed; the alert and its Open event button appear in the channel.
    """
    from bot.hazards.feeds import parse
    from bot.services.hazards import record_hazards

    await world.admin.slash(world.ops, "config area", location="Houston", radius_km=500)
    await world.admin.slash(world.ops, "config feeds", feed="usgs", enabled=True, min_severity="5.5")
    core = world.env.bot.core
    alerted = record_hazards(core, "usgs", parse("usgs", _sample_quake()).hazards, core.clock())
    await world.env.advance_time(2)  # the outbox's next round posts the alert
    if not alerted:
        return "The sample quake was alerted already."
    return f"A sample quake arrived from the USGS feed; {world.admin.user.name} can open its event: click quake."


def _hazard_button(world: DemoWorld) -> tuple[Any, str]:
    for message in reversed(list(world.ops.history())):
        for row in message.components:
            for child in getattr(row, "children", []):
                if (child.custom_id or "").startswith("coalesce:hazard:"):
                    return message, child.custom_id
    raise ValueError("no hazard alert yet: type quake first")


def transcript_line(message: Any) -> str:
    """One message as plain text: its content, then each embed's title, description and fields."""
    text = message.content or ""
    for embed in message.embeds:
        text += f" [{embed.title or ''}{': ' + embed.description if embed.description else ''}]"
        text += "".join(f" [{field.name}: {field.value}]" for field in embed.fields)
    return text.strip()
