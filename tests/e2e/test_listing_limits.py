"""Every listing fits every embed limit, filled to the brim with the longest, most escaped names allowed.

Discord refuses a message whose embed breaks a limit, and everyone then gets an
apology: one member registering long names must not break a listing for all.
"""

from __future__ import annotations

import discord
import pytest

from bot.app import create_bot
from bot.models import Actor
from bot.services import events, orgs, posts
from cogs.listing import fit, listing_embed

# Escaping doubles these: the longest rendering an 80-character name can have.
MARKUP = "*_~|`[]<"


def long_name(i: int, length: int = 80) -> str:
    head = f"{i:03d} "
    return head + (MARKUP * length)[: length - len(head)]


def assert_fits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert len(field.name or "") <= 256 and len(field.value or "") <= 1024
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= 6000


@pytest.fixture
def simcord_bot(database, clock):
    # Filling every listing takes more posts than one member may make in ten minutes.
    return create_bot(database, clock=clock, scheduler=False, post_rate_limit=10_000)


@pytest.fixture
async def full(world):
    """25 verified orgs, 20 needs and offers, many matches, 30 events: every name as long and marked-up as allowed."""
    guild = world.guild
    core = world.env.bot.core
    admin = Actor(user_id=world.admin.id, guild_id=guild.id, name="admin", is_admin=True, guild_name=guild.name)
    for kind, channel in world.channels.items():
        await world.admin.slash(world.general, "config channel", kind=kind, channel=channel)
    events.open_event(core, admin, name=long_name(0), location="Houston")
    alice = Actor(user_id=world.alice.id, guild_id=guild.id, name="alice", guild_name=guild.name)
    for i in range(1, 26):
        org = orgs.register_org(
            core, alice, name=long_name(i), sectors="wash, food, shelter, health, logistics", location="Houston",
            contact="ops@example.org", description=MARKUP * 60,
        )  # fmt: skip
        orgs.verify_org(core, admin, str(org.id))
    for i in range(1, 21):
        for post, org in ((posts.post_need, i), (posts.post_offer, i % 25 + 1)):
            extra = {"urgency": "critical"} if post is posts.post_need else {}
            post(
                core, alice, sector="wash", item=long_name(7), quantity=10**9, location="Houston",
                notes=MARKUP * 60, org=str(org), event=None, **extra,
            )  # fmt: skip
    for i in range(1, 30):
        events.open_event(core, admin, name=long_name(100 + i))
    return world


@pytest.mark.parametrize(
    ("who", "command", "options"),
    [
        ("dave", "org list", {}),
        ("dave", "need list", {}),
        ("dave", "offer list", {}),
        ("dave", "match list", {}),
        ("dave", "match list", {"status": "proposed"}),
        ("dave", "event list", {}),
        ("admin", "audit", {}),
        ("admin", "config show", {}),
        ("dave", "org info", {"org": "1"}),
    ],
)
async def test_every_listing_filled_to_the_limit_still_fits_and_says_how_many_more(full, who, command, options):
    result = await getattr(full, who).slash(full.general, command, **options)

    assert result.response is not None, f"/{command} was refused by Discord or not answered"
    [embed] = result.response.embeds
    assert_fits(embed)
    if command in ("org list", "event list", "audit", "match list", "need list", "offer list"):
        assert "…and " in (embed.description or ""), embed.description


@pytest.mark.parametrize("count", [0, 1, 5, 25, 400])
@pytest.mark.parametrize("line_length", [1, 200, 1500, 5000])
def test_a_listing_of_any_size_fits(count, line_length):
    lines = [f"{i} " + "x" * line_length for i in range(count)]

    embed = listing_embed("T" * 300, lines, empty="none", more_hint=": narrow it", footer="f" * 3000, total=count + 3)

    assert_fits(embed)
    assert embed.description


def test_fit_cuts_any_embed_to_the_limits():
    embed = discord.Embed(title="t" * 999, description="d" * 9999)
    for i in range(40):
        embed.add_field(name=f"{i}" * 300, value="v" * 2000)
    embed.set_footer(text="f" * 3000)

    assert_fits(fit(embed))
