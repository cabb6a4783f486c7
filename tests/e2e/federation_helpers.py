"""Three servers in one simulated Discord: A and B form a coalition, C stays outside it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from tests.e2e.matching_helpers import buttons

KINDS = ("needs", "offers", "matches", "digest", "alerts", "log")


@dataclass
class Server:
    guild: object
    general: object
    channels: dict[str, object]
    admin: object

    def matches_message(self, ref: str):
        found = [m for m in self.channels["matches"].history() if f"**{ref}**" in m.content]
        assert len(found) == 1, f"{len(found)} messages for {ref} in {self.guild.name}"
        return found[0]


def server(env, name: str, *, channels: bool = True) -> Server:
    guild = env.create_guild(name)
    general = guild.create_text_channel("general")
    made = {kind: guild.create_text_channel(kind) for kind in KINDS} if channels else {}
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(env.create_user(f"admin-{name.split()[0].lower()}"), roles=[admins])
    return Server(guild, general, made, admin)


async def configure(place: Server) -> None:
    for kind, channel in place.channels.items():
        result = await place.admin.slash(place.general, "config channel", kind=kind, channel=channel)
        assert result.ephemeral and "will receive" in result.response.content, result.response.content


async def register(place: Server, member, name: str, location: str, contact: str, *, verify: bool = True) -> None:
    result = await member.slash(
        place.general, "org register", name=name, sectors="wash, food", location=location, contact=contact
    )
    assert result.ephemeral and "pending" in result.response.content, result.response.content
    if verify:
        verified = await place.admin.slash(place.general, "org verify", org=name)
        assert not verified.ephemeral, verified.response.content


def invite_code(result) -> str:
    """The code an invite reply shows in backticks."""
    found = re.search(r"`([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})`", result.response.content)
    assert found, result.response.content
    return found.group(1)


async def federate(a: Server, b: Server, *, name: str = "Gulf Coast VOAD") -> None:
    """A names the coalition and invites; B joins with the code."""
    created = await a.admin.slash(a.general, "coalition create", name=name)
    assert created.ephemeral and name in created.response.content
    code = invite_code(await a.admin.slash(a.general, "coalition invite"))
    joined = await b.admin.slash(b.general, "coalition join", code=code)
    assert joined.ephemeral and name in joined.response.content, joined.response.content


def labels(message) -> set[str]:
    return {b.label for b in buttons(message)}
