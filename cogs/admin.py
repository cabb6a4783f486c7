"""/audit and /status: what changed and whether the bot is healthy (Manage Server only)."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import AuditEntry
from bot.services import audit, status
from bot.text import escape, parse_id
from cogs.common import COLOUR, NO_PINGS, actor_of, channel_name, choice, core_of
from cogs.listing import listing_embed


async def action_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    needle = current.casefold().strip()
    actions = await core_of(interaction).call(audit.known_actions, actor_of(interaction))
    return [choice(a, a) for a in actions if needle in a][:25]


def entry_line(
    entry: AuditEntry,
    servers: dict[int, str] | None = None,
    names: dict[str, str] | None = None,
    guild: discord.Guild | None = None,
) -> str:
    """One entry, with names where it stored ids: orgs, events, places, channels, roles, members, servers."""
    who = "Coalesce" if entry.actor_id == audit.SYSTEM_ACTOR else f"<@{entry.actor_id}>"
    if entry.guild_id is not None and servers:
        who += f" in *{escape(servers.get(entry.guild_id, str(entry.guild_id)))}*"
    names = names or {}
    subject = reference(entry.subject, names, servers or {}, guild)
    detail = ", ".join(
        f"{escape(key)}={detail_value(key, value, names, servers or {}, guild)}"
        for key, value in sorted(entry.detail.items())
    )
    detail = f" — {detail}" if detail else ""
    return f"{discord.utils.format_dt(entry.at, 'f')} {who} **{escape(entry.action)}** {subject}{detail}"


def reference(ref: str, names: dict[str, str], servers: dict[int, str], guild: discord.Guild | None) -> str:
    """A subject such as ``org:2``, ``user:5`` or ``channel:7`` as its name (escaped), or as it is."""
    kind, _, raw = ref.partition(":")
    number = parse_id(raw)
    if ref in names:
        return f"{escape(kind)} **{escape(names[ref][:80])}**" if kind in ("org", "event") else escape(names[ref])
    if kind == "user" and number is not None:
        return f"<@{number}>"
    if kind == "channel" and number is not None:
        return channel_name(number, guild)
    if kind == "guild" and number is not None:
        return escape(servers.get(number, f"a server ({number})")[:80])
    return escape(ref[:80])


def detail_value(key: str, value: object, names: dict[str, str], servers: dict[int, str], guild) -> str:
    kind = audit.named_detail_key(key)
    ref = str(value) if kind == "place" else f"{kind}:{value}"
    if kind is not None and ref in names:
        return escape(names[ref][:80])
    number = parse_id(value) if isinstance(value, int | str) else None
    if number is not None and key in ("channel_id", "channel"):
        return channel_name(number, guild)
    if number is not None and key in ("role_id", "role"):
        role = guild.get_role(number) if guild else None
        return f"@{escape(role.name)}" if role else "a deleted role"
    if number is not None and key in ("member_id", "recipient", "user", "user_id"):
        return f"<@{number}>"
    if number is not None and key in ("guild", "guild_id"):
        return escape(servers.get(number, f"a server ({number})")[:80])
    return escape(str(value)[:80])


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if days or hours else []
    return " ".join([*parts, f"{minutes}m", f"{secs}s"])


def size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} GB"


class AdminCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.started_at = core_of_bot(bot).clock()

    @app_commands.command(name="audit", description="Recent changes: who did what, when (Manage Server)")
    @app_commands.describe(
        action='Only this kind of change, e.g. "org" or "org.verify"',
        member="Only changes made by this member",
        export="Attach every matching entry as a CSV file",
    )
    @app_commands.autocomplete(action=action_autocomplete)
    @app_commands.guild_only()  # on each command: a plain Cog's class decorator reaches none of them
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def audit(
        self,
        interaction: discord.Interaction,
        action: str | None = None,
        member: discord.User | None = None,
        export: bool = False,
    ) -> None:
        core, actor = core_of(interaction), actor_of(interaction)
        member_id = member.id if member else None
        if export:
            data = await core.call(audit.export_csv, actor, action=action, member_id=member_id)
            rows = data.count(b"\n") - 1
            await interaction.response.send_message(
                f"{rows} audit entr{'y' if rows == 1 else 'ies'}, oldest first.",
                file=discord.File(io.BytesIO(data), filename="coalesce-audit.csv"),
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        entries = await core.call(audit.recent_entries, actor, action=action, member_id=member_id)
        servers = await core.call(audit.server_names, actor)
        names = await core.call(audit.readable_names, entries)
        embed = listing_embed(
            "Audit log",
            [entry_line(entry, servers, names, interaction.guild) for entry in entries],
            empty="No matching entries.",
            more_hint=": export=True attaches every one",
            footer="Newest first · export=True attaches every matching entry as CSV",
        )
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="status", description="Is Coalesce healthy? Uptime, notice backlog, last digest")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def status(self, interaction: discord.Interaction) -> None:
        report = await core_of(interaction).call(status.status, actor_of(interaction), started_at=self.started_at)
        embed = discord.Embed(title="Coalesce status", colour=COLOUR)
        embed.add_field(name="Uptime", value=duration(report.uptime.total_seconds()))
        embed.add_field(
            name="Notices",
            value=f"{report.pending} waiting, {report.failed} failed, {report.sent} sent "
            f"(all servers: {report.backlog} waiting)",
            inline=False,
        )
        last = (
            f"{discord.utils.format_dt(report.last_digest_at, 'R')} ({report.last_digest_kind})"
            if report.last_digest_at
            else "none yet"
        )
        embed.add_field(name="Last digest", value=last)
        embed.add_field(name="Database", value=size(report.database_bytes))
        if report.failed:
            embed.set_footer(text="See failed notices with /audit action:outbox.failed")
        await interaction.response.send_message(embed=embed, ephemeral=True)


def core_of_bot(bot: commands.Bot):
    return bot.core  # type: ignore[attr-defined]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AdminCog(bot))
