"""Bad input, as a table: each is answered privately with what to do instead, and nothing changes.

Every row runs against the same small world; the whole database is compared
before and after. A last test checks that wherever the bot echoes what people
typed, its messages allow no pings.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import assert_refused

LONG = "x" * 81


@dataclass(frozen=True)
class Bad:
    id: str
    who: str  # "admin" or "alice" (a verified org's member)
    command: str
    options: dict
    words: tuple[str, ...]


NEED = {"sector": "wash", "item": "soap", "quantity": 5, "location": "Houston", "urgency": "high"}
OFFER = {"sector": "wash", "item": "soap", "quantity": 5, "location": "Baytown"}
ORG = {"name": "Relief Now", "sectors": "food", "location": "Houston", "contact": "ops@example.org"}
DIGEST = {"times": "08:00", "timezone": "Europe/Paris"}


def need(**changes) -> dict:
    return {**NEED, **changes}


def offer(**changes) -> dict:
    return {**OFFER, **changes}


def org(**changes) -> dict:
    return {**ORG, **changes}


ROWS = [
    Bad("org name too long", "alice", "org register", org(name=LONG), ("81 characters", "80")),
    Bad("org name blank", "alice", "org register", org(name="   "), ("can't be empty",)),
    Bad("org name @everyone", "alice", "org register", org(name="@everyone relief"), ("mentions",)),
    Bad("org name @here", "alice", "org register", org(name="Relief @here"), ("mentions",)),
    Bad("org name user mention", "alice", "org register", org(name="Relief <@123456789012345678>"), ("mentions",)),
    Bad(
        "org description role mention",
        "alice",
        "org register",
        org(description="ask <@&123456789012345678>"),
        ("mentions",),
    ),
    Bad("org description invite", "alice", "org register", org(description="join discord.gg/abcdef"), ("invite",)),
    Bad(
        "org description invite url",
        "alice",
        "org register",
        org(description="see https://discord.com/invite/abcdef"),
        ("invite",),
    ),
    Bad("org duplicate name", "alice", "org register", org(name="houston   FOOD bank"), ("already registered",)),
    Bad("org unknown sector", "alice", "org register", org(sectors="astrology"), ("not a sector",)),
    Bad("org blank sectors", "alice", "org register", org(sectors=" , "), ("at least one sector",)),
    Bad("org unknown place", "alice", "org register", org(location="Atlantis Under The Sea"), ("No town",)),
    Bad("org contact too long", "alice", "org register", org(contact="c" * 201), ("200",)),
    Bad("org description too long", "alice", "org register", org(description="d" * 501), ("500",)),
    Bad("digest time out of range", "admin", "config digest", {**DIGEST, "times": "25:00"}, ("not a time",)),
    Bad("digest time words", "admin", "config digest", {**DIGEST, "times": "8am"}, ("HH:MM",)),
    Bad("digest times blank", "admin", "config digest", {**DIGEST, "times": " , "}, ("at least one time",)),
    Bad(
        "digest too many times",
        "admin",
        "config digest",
        {**DIGEST, "times": ",".join(f"{h:02d}:00" for h in range(7))},
        ("at most 6",),
    ),
    Bad(
        "digest unknown zone",
        "admin",
        "config digest",
        {**DIGEST, "timezone": "Mars/Olympus_Mons"},
        ("not a time zone",),
    ),
    Bad("event name too long", "admin", "event open", {"name": LONG}, ("80",)),
    Bad("event name blank", "admin", "event open", {"name": "  "}, ("can't be empty",)),
    Bad("event name @everyone", "admin", "event open", {"name": "@everyone flood"}, ("mentions",)),
    Bad("event name invite", "admin", "event open", {"name": "Flood discord.gg/xyz"}, ("invite",)),
    Bad("event duplicate open name", "admin", "event open", {"name": "delta"}, ("already exists",)),
    Bad(
        "event unknown place",
        "admin",
        "event open",
        {"name": "Flood", "location": "Atlantis Under The Sea"},
        ("No town",),
    ),
    Bad("event close unknown", "admin", "event close", {"event": "Nonexistent"}, ("No open event",)),
    Bad("verify unknown org", "admin", "org verify", {"org": "Nobody Relief"}, ("No organisation",)),
    Bad("verify verified org", "admin", "org verify", {"org": "Houston Food Bank"}, ("already verified",)),
    Bad("info unknown org", "alice", "org info", {"org": "Nobody Relief"}, ("No organisation",)),
    Bad("add a member twice", "alice", "org add-member", {"member": "alice"}, ("already a member",)),
    Bad("audit action filter too long", "admin", "audit", {"action": "a" * 41}, ("40",)),
    Bad(
        "need deadline in the past",
        "alice",
        "need post",
        {
            "sector": "wash",
            "item": "soap",
            "quantity": 5,
            "location": "Houston",
            "urgency": "high",
            "needed_by": "2020-01-01",
        },
        ("already past",),
    ),
    Bad(
        "need notes with a mention",
        "alice",
        "need post",
        {
            "sector": "wash",
            "item": "soap",
            "quantity": 5,
            "location": "Houston",
            "urgency": "high",
            "notes": "ping @everyone",
        },
        ("mentions",),
    ),
    Bad("need date in words", "alice", "need post", need(needed_by="when the roads open"), ("YYYY-MM-DD",)),
    Bad("need date in words, past", "alice", "need post", need(needed_by="3 days ago"), ("already past",)),
    Bad("need date too far", "alice", "need post", need(needed_by="9999-12-31"), ("ten years",)),
    Bad("need impossible date", "alice", "need post", need(needed_by="2026-02-30"), ("not a date",)),
    Bad("need item too long", "alice", "need post", need(item="w" * 81), ("80",)),
    Bad("need item with invite", "alice", "need post", need(item="water discord.gg/xyz"), ("invite",)),
    Bad("need unknown place", "alice", "need post", need(location="Atlantis Under The Sea"), ("No town",)),
    Bad("need notes with a phone", "alice", "need post", need(notes="call 713-555-0100"), ("public",)),
    Bad("need notes with an e-mail", "alice", "need post", need(notes="write to a@b.org"), ("public",)),
    Bad("need notes with a role", "alice", "need post", need(notes="<@&123456789012345678> help"), ("mentions",)),
    Bad("need notes with markdown link", "alice", "need post", need(notes="[x](https://discord.gg/a)"), ("invite",)),
    Bad("offer date in the past", "alice", "offer post", offer(available_until="2020-05-01"), ("already past",)),
    Bad("offer notes with an address", "alice", "offer post", offer(notes="at 12 Main Street"), ("public",)),
    Bad("close an unknown need", "alice", "need close", {"id": "N-999"}, ("no need N-999",)),
    Bad("close a malformed id", "alice", "need close", {"id": "banana"}, ("N-12",)),
    Bad("withdraw a need as an offer", "alice", "offer withdraw", {"id": "N-1"}, ("/need close",)),
]


async def build(world) -> None:
    await world.admin.slash(world.general, "config channel", kind="log", channel=world.channels["log"])
    await world.alice.slash(world.general, "org register", name="Houston Food Bank", sectors="food, wash",
                            location="Houston", contact="ops@example.org")  # fmt: skip
    await world.admin.slash(world.general, "org verify", org="Houston Food Bank")
    await world.admin.slash(world.general, "event open", name="Delta")


def snapshot(world) -> dict[str, list[tuple]]:
    db = world.env.bot.core.store.db
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: db.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}  # noqa: S608


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_bad_input_is_refused_privately_and_changes_nothing(world, row):
    await build(world)
    before = snapshot(world)
    options = {k: getattr(world, v) if k == "member" else v for k, v in row.options.items()}

    result = await getattr(world, row.who).slash(world.general, row.command, **options)

    assert_refused(world.env, result, *row.words)
    assert snapshot(world) == before


def messages_sent(world) -> list[tuple[str, dict]]:
    """(path, body) of every message the bot sent or edited: channel posts, DMs, replies, follow-ups."""
    found = []
    for request in world.env.http_requests:
        body = request.json if isinstance(request.json, dict) else None
        if body is None:
            continue
        if request.path.endswith("/callback"):
            body = body.get("data") or {}
        if "content" in body or "embeds" in body:
            found.append((request.path, body))
    return found


async def test_echoed_text_never_pings_anyone(world):
    await build(world)
    await world.admin.slash(world.general, "config channel", kind="alerts", channel=world.channels["alerts"])
    await world.bob.slash(world.general, "org register", name="Gulf *Water* __Aid__", sectors="wash",
                          location="Galveston", contact="b@example.org", description="We bring **water**")  # fmt: skip
    await world.admin.slash(world.general, "org verify", org="Gulf *Water* __Aid__")
    await world.bob.slash(world.general, "org info", org="Gulf *Water* __Aid__")
    await world.admin.slash(world.general, "event open", name="Storm ~~Zeta~~")
    await world.admin.slash(world.general, "event close", event="Storm ~~Zeta~~")
    await world.alice.slash(world.general, "need post", sector="wash", item="soap", quantity=5, location="Houston",
                            urgency="high", notes="for the shelters")  # fmt: skip
    await world.alice.slash(world.general, "org add-member", member=world.carol)

    sent = messages_sent(world)
    assert len(sent) >= 10
    for path, body in sent:
        mentions = body.get("allowed_mentions")
        assert mentions is not None, f"{path} sent without allowed_mentions"
        assert mentions.get("parse") == [], f"{path} lets {mentions.get('parse')} ping"
        assert not mentions.get("roles"), path
        # Only /org add-member names one person to ping: the member it adds.
        assert set(mentions.get("users", [])) <= {str(world.carol.user.id), world.carol.user.id}, path


@pytest.mark.parametrize("quantity", [0, -5, 1_000_000_001])
@pytest.mark.parametrize("command", ["need post", "offer post"])
async def test_quantities_out_of_range_are_stopped_by_discord_before_the_bot(world, command, quantity):
    """The options declare 1 to 1,000,000,000, so Discord's client refuses anything else as it is typed."""
    from simcord import OptionError

    await build(world)
    before = snapshot(world)
    options = need(quantity=quantity) if command == "need post" else offer(quantity=quantity)

    with pytest.raises(OptionError):
        await world.alice.slash(world.general, command, **options)

    assert snapshot(world) == before
