"""Numbered schema migrations, applied by sqlite-utils' ``Migrations``.

Never edit a migration that has shipped: add the next one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("coalesce")


def _execute_all(db: Database, script: str) -> None:
    """Run each statement on its own: ``executescript`` would COMMIT the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations(name="0001_foundation")
def foundation(db: Database) -> None:
    _execute_all(
        db,
        """
        CREATE TABLE coalitions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            timezone TEXT NOT NULL DEFAULT 'UTC',
            digest_times TEXT NOT NULL DEFAULT '08:00,20:00',
            created_at TEXT NOT NULL
        );
        CREATE TABLE guild_links (
            guild_id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            guild_name TEXT NOT NULL DEFAULT '',
            linked_at TEXT NOT NULL
        );
        CREATE INDEX guild_links_by_coalition ON guild_links(coalition_id);
        CREATE TABLE channels (
            guild_id INTEGER NOT NULL REFERENCES guild_links(guild_id),
            kind TEXT NOT NULL,
            channel_id INTEGER NOT NULL,
            set_by INTEGER NOT NULL,
            set_at TEXT NOT NULL,
            PRIMARY KEY (guild_id, kind)
        );
        CREATE TABLE orgs (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            name TEXT NOT NULL,
            name_key TEXT NOT NULL,
            sectors TEXT NOT NULL,
            place_key TEXT NOT NULL,
            place_label TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            contact TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending',
            registered_by INTEGER NOT NULL,
            verified_by INTEGER,
            verified_at TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (coalition_id, name_key)
        );
        CREATE TABLE org_members (
            org_id INTEGER NOT NULL REFERENCES orgs(id),
            user_id INTEGER NOT NULL,
            added_by INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (org_id, user_id)
        );
        CREATE INDEX org_members_by_user ON org_members(user_id);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            name TEXT NOT NULL,
            name_key TEXT NOT NULL,
            place_key TEXT,
            place_label TEXT NOT NULL DEFAULT '',
            lat REAL,
            lon REAL,
            radius_km REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            opened_by INTEGER NOT NULL,
            opened_at TEXT NOT NULL,
            closed_by INTEGER,
            closed_at TEXT
        );
        CREATE UNIQUE INDEX events_open_name ON events(coalition_id, name_key) WHERE status = 'open';
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            actor_id INTEGER NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            at TEXT NOT NULL
        );
        CREATE INDEX audit_by_coalition ON audit_log(coalition_id, id);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE status = 'pending';
        """,
    )


@migrations(name="0002_posts_and_matches")
def posts_and_matches(db: Database) -> None:
    _execute_all(
        db,
        """
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('need', 'offer')),
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            event_id INTEGER NOT NULL REFERENCES events(id),
            org_id INTEGER NOT NULL REFERENCES orgs(id),
            sector TEXT NOT NULL,
            item_key TEXT NOT NULL,
            item_label TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity >= 1),
            remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= quantity),
            unit TEXT NOT NULL DEFAULT '',
            place_key TEXT NOT NULL,
            place_label TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            urgency TEXT NOT NULL DEFAULT 'normal',
            deadline TEXT,
            notes TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open',
            posted_by INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            closed_at TEXT
        );
        CREATE INDEX posts_open_by_item ON posts(event_id, kind, item_key) WHERE status = 'open';
        CREATE INDEX posts_by_org ON posts(org_id, status);
        CREATE INDEX posts_by_coalition ON posts(coalition_id, kind, status, id);
        CREATE INDEX posts_by_poster ON posts(posted_by, created_at);
        CREATE INDEX posts_open_deadline ON posts(deadline) WHERE status = 'open' AND deadline IS NOT NULL;
        CREATE TABLE matches (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            event_id INTEGER NOT NULL REFERENCES events(id),
            need_id INTEGER NOT NULL REFERENCES posts(id),
            offer_id INTEGER NOT NULL REFERENCES posts(id),
            score REAL NOT NULL,
            distance_km REAL NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity >= 0),
            status TEXT NOT NULL DEFAULT 'proposed',
            need_accepted_by INTEGER,
            offer_accepted_by INTEGER,
            closed_by INTEGER,
            created_at TEXT NOT NULL,
            committed_at TEXT,
            delivered_at TEXT,
            closed_at TEXT,
            UNIQUE (need_id, offer_id)
        );
        CREATE INDEX matches_by_offer ON matches(offer_id, status);
        CREATE INDEX matches_by_coalition ON matches(coalition_id, status, id);
        CREATE TABLE match_messages (
            match_id INTEGER NOT NULL REFERENCES matches(id),
            channel_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            PRIMARY KEY (match_id, channel_id)
        );
        CREATE TABLE subscriptions (
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            user_id INTEGER NOT NULL,
            sectors TEXT NOT NULL DEFAULT '',
            place_label TEXT NOT NULL DEFAULT '',
            lat REAL,
            lon REAL,
            radius_km REAL,
            dm_closed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            PRIMARY KEY (coalition_id, user_id)
        );
        CREATE TABLE digest_runs (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            slot TEXT NOT NULL,
            ran_at TEXT NOT NULL,
            UNIQUE (coalition_id, slot)
        );
        """,
    )


@migrations(name="0003_matching_candidates")
def matching_candidates(db: Database) -> None:
    # A post's grid cell (sized by its event's radius) and urgency rank let one
    # indexed probe per nearby cell return the most urgent, largest posts first,
    # so finding a post's matches reads a bounded number of rows however many are open.
    _execute_all(
        db,
        """
        ALTER TABLE posts ADD COLUMN cell INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE posts ADD COLUMN urgency_rank INTEGER NOT NULL DEFAULT 2;
        CREATE INDEX posts_match_candidates
            ON posts(event_id, kind, item_key, cell, urgency_rank, remaining DESC)
            WHERE status = 'open' AND remaining > 0;
        CREATE INDEX matches_by_need ON matches(need_id, status);
        """,
    )


@migrations(name="0004_digests")
def digests(db: Database) -> None:
    # A scheduled digest's chart waits here for the dispatcher (outbox payloads are JSON).
    # "New since the last digest" reads posts by creation time within a coalition.
    _execute_all(
        db,
        """
        CREATE TABLE digest_charts (
            run_id INTEGER PRIMARY KEY REFERENCES digest_runs(id),
            png BLOB NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX posts_by_created ON posts(coalition_id, created_at);
        CREATE INDEX matches_by_event ON matches(event_id, status)
        """,
    )


@migrations(name="0006_digest_views")
def digest_views(db: Database) -> None:
    # Volunteers who chose alike share a view: its embed is stored once per round, and each
    # subscriber's outbox row names (run_id, view_id) instead of carrying the embed.
    # A round's personal rows are queued in short transactions after the claim; the plan
    # (user and view ids) and how much of it is queued let a restart finish it exactly once.
    _execute_all(
        db,
        """
        CREATE TABLE digest_views (
            run_id INTEGER NOT NULL REFERENCES digest_runs(id),
            view_id INTEGER NOT NULL,
            embed TEXT NOT NULL,
            PRIMARY KEY (run_id, view_id)
        );
        CREATE TABLE digest_plans (
            run_id INTEGER PRIMARY KEY REFERENCES digest_runs(id),
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            personal TEXT NOT NULL,
            total INTEGER NOT NULL,
            queued INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """,
    )


@migrations(name="0007_alert_roles")
def alert_roles(db: Database) -> None:
    # The role a server's alerts ping (critical needs, events opened): chosen by its admins, one per server.
    _execute_all(
        db,
        """
        CREATE TABLE alert_roles (
            guild_id INTEGER PRIMARY KEY REFERENCES guild_links(guild_id),
            role_id INTEGER NOT NULL,
            set_by INTEGER NOT NULL,
            set_at TEXT NOT NULL
        );
        """,
    )


@migrations(name="0011_federation")
def federation(db: Database) -> None:
    # Several servers may form one coalition: an org belongs to the server where it registered (whose admins
    # vet it, and whose matches channel shows its proposals), an audit row names the server it came from,
    # invites are single-use codes (only their hash is kept). Event-open DMs are sent once per org and event
    # name; hazard alerts once per coalition and hazard, from feeds each coalition turns on for its area.
    _execute_all(
        db,
        """
        ALTER TABLE coalitions ADD COLUMN lead_guild_id INTEGER;
        ALTER TABLE orgs ADD COLUMN home_guild_id INTEGER;
        ALTER TABLE orgs ADD COLUMN event_alerts INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE audit_log ADD COLUMN guild_id INTEGER;
        UPDATE coalitions SET lead_guild_id =
            (SELECT MIN(g.guild_id) FROM guild_links g WHERE g.coalition_id = coalitions.id);
        UPDATE orgs SET home_guild_id =
            (SELECT MIN(g.guild_id) FROM guild_links g WHERE g.coalition_id = orgs.coalition_id);
        CREATE INDEX orgs_by_home_guild ON orgs(home_guild_id);
        CREATE TABLE coalition_invites (
            code_hash TEXT PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            guild_id INTEGER NOT NULL,
            created_by INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_by_guild INTEGER,
            used_at TEXT
        );
        CREATE TABLE event_alerts (
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            event_key TEXT NOT NULL,
            org_id INTEGER NOT NULL REFERENCES orgs(id),
            event_id INTEGER NOT NULL REFERENCES events(id),
            sent_at TEXT NOT NULL,
            PRIMARY KEY (coalition_id, event_key, org_id)
        );
        CREATE TABLE hazard_areas (
            coalition_id INTEGER PRIMARY KEY REFERENCES coalitions(id),
            place_label TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            radius_km REAL NOT NULL,
            set_by INTEGER NOT NULL,
            set_at TEXT NOT NULL
        );
        CREATE TABLE hazard_feeds (
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            feed TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            min_severity TEXT NOT NULL,
            set_by INTEGER NOT NULL,
            set_at TEXT NOT NULL,
            PRIMARY KEY (coalition_id, feed)
        );
        CREATE TABLE hazards (
            id INTEGER PRIMARY KEY,
            feed TEXT NOT NULL,
            source_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            place TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            severity TEXT NOT NULL,
            rank REAL NOT NULL,
            occurred_at TEXT NOT NULL,
            url TEXT NOT NULL,
            radius_km REAL NOT NULL,
            first_seen_at TEXT NOT NULL,
            UNIQUE (feed, source_id)
        );
        CREATE INDEX hazards_by_time ON hazards(occurred_at);
        CREATE TABLE hazard_alerts (
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            hazard_id INTEGER NOT NULL REFERENCES hazards(id),
            event_id INTEGER REFERENCES events(id),
            alerted_at TEXT NOT NULL,
            PRIMARY KEY (coalition_id, hazard_id)
        );
        CREATE TABLE feed_state (
            feed TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            next_poll_at TEXT,
            last_error TEXT
        );
        """,
    )


@migrations(name="0013_identity")
def identity(db: Database) -> None:
    # Names are now unique by what a reader sees (NFKC, invisible characters dropped, case folded):
    # recompute the keys of orgs and events. Look-alikes registered before this keep a key of their
    # own, suffixed with their id, so the migration never fails on them; no new one can join them.
    from bot.text import identity_key

    for table, unique_when in (("orgs", None), ("events", "open")):
        rows = list(db.execute(f"SELECT id, coalition_id, name, {'status' if unique_when else 'NULL'} FROM {table}"))  # noqa: S608 - fixed names
        db.execute(f"UPDATE {table} SET name_key = '#' || id")  # noqa: S608 - clears every key before any is reused
        taken: set[tuple[int, str]] = set()
        for row_id, coalition_id, name, status in sorted(rows):
            key = identity_key(name)
            if unique_when is None or status == unique_when:
                if (coalition_id, key) in taken:
                    key = f"{key} #{row_id}"
                taken.add((coalition_id, key))
            db.execute(f"UPDATE {table} SET name_key = ? WHERE id = ?", [key, row_id])  # noqa: S608 - fixed names


@migrations(name="0008_units")
def units(db: Database) -> None:
    # A match moves whole units of the offer and credits the need in its own unit: the two differ when the posts
    # count in different units (200 litres credit 52 gallons). ``quantity`` stays the need's side, as before;
    # rows from before units converted moved one for one, so their offer side is the same number.
    _execute_all(
        db,
        """
        ALTER TABLE matches ADD COLUMN offer_quantity INTEGER;
        UPDATE matches SET offer_quantity = quantity;
        """,
    )


@migrations(name="0016_digest_now_runs")
def digest_now_runs(db: Database) -> None:
    # /digest now is a digest too: /status reports the latest, scheduled or asked for.
    _execute_all(
        db,
        """
        ALTER TABLE coalitions ADD COLUMN last_digest_now_at TEXT;
        """,
    )


@migrations(name="0010_follow_through")
def follow_through(db: Database) -> None:
    # Freshness: each open post has its next freshness step due at ``fresh_due_at`` (ask its poster, then
    # mark it unconfirmed); a sweep reads only what is due through the partial index, never every open post.
    # Matches: a proposal expires, and a commitment is nudged, at ``due_at``; ``reported_*`` is the offering
    # side's delivery report awaiting the needing side's Received; ``replaces_id`` names the stalled commitment
    # a hand-off proposal would take over. Windows an admin chose live per coalition; the last freshness DM
    # per coordinator keeps prompts to one an hour.
    _execute_all(
        db,
        """
        ALTER TABLE posts ADD COLUMN confirmed_at TEXT;
        ALTER TABLE posts ADD COLUMN fresh_due_at TEXT;
        ALTER TABLE posts ADD COLUMN fresh_stage INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE posts ADD COLUMN unconfirmed_since TEXT;
        CREATE INDEX posts_fresh_due ON posts(fresh_due_at) WHERE status = 'open' AND fresh_due_at IS NOT NULL;
        UPDATE posts SET confirmed_at = created_at,
            fresh_due_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at,
                CASE WHEN kind = 'offer' THEN '+72 hours' WHEN urgency = 'critical' THEN '+12 hours'
                     WHEN urgency = 'high' THEN '+24 hours' WHEN urgency = 'low' THEN '+168 hours'
                     ELSE '+72 hours' END)
            WHERE status = 'open';
        ALTER TABLE matches ADD COLUMN due_at TEXT;
        ALTER TABLE matches ADD COLUMN nudges INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE matches ADD COLUMN reported_at TEXT;
        ALTER TABLE matches ADD COLUMN reported_by INTEGER;
        ALTER TABLE matches ADD COLUMN replaces_id INTEGER REFERENCES matches(id);
        CREATE INDEX matches_due ON matches(due_at) WHERE status IN ('proposed', 'committed') AND due_at IS NOT NULL;
        UPDATE matches SET due_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at, '+24 hours')
            WHERE status = 'proposed';
        UPDATE matches SET due_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', committed_at, '+24 hours')
            WHERE status = 'committed';
        CREATE TABLE freshness_windows (
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            urgency TEXT NOT NULL,
            hours INTEGER NOT NULL CHECK (hours >= 1),
            set_by INTEGER NOT NULL,
            set_at TEXT NOT NULL,
            PRIMARY KEY (coalition_id, urgency)
        );
        CREATE TABLE freshness_dms (
            user_id INTEGER PRIMARY KEY,
            last_at TEXT NOT NULL
        )
        """,
    )


@migrations(name="0009_input")
def pending_posts(db: Database) -> None:
    # A post held back because it looks like one of its org's open posts: kept until its poster
    # clicks Update or Post anyway (buttons outlive a restart, so the post must too).
    _execute_all(
        db,
        """
        CREATE TABLE pending_posts (
            id INTEGER PRIMARY KEY,
            coalition_id INTEGER NOT NULL REFERENCES coalitions(id),
            user_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            duplicate_of INTEGER NOT NULL REFERENCES posts(id),
            options TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX pending_posts_by_age ON pending_posts(created_at);
        """,
    )


@migrations(name="0015_sandbox")
def app_state(db: Database) -> None:
    # Small facts about the deployment itself, such as the hash of the slash commands last synced.
    _execute_all(db, "CREATE TABLE app_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations(name="0017_near_first")
def near_first(db: Database) -> None:
    # Pairs that are not critical are matched near first, and a post's reach doubles each hold it waits: a sweep
    # proposes its new partners at each step and records the level reached here. Posts from before this were
    # matched across the whole event already, so they start at the top level.
    _execute_all(
        db,
        """
        ALTER TABLE posts ADD COLUMN reach_level INTEGER NOT NULL DEFAULT 0;
        UPDATE posts SET reach_level = 3;
        CREATE INDEX posts_reaching ON posts(reach_level, created_at) WHERE status = 'open';
        """,
    )


@migrations(name="0012_outbox_leases")
def outbox_leases(db: Database) -> None:
    # A row is claimed before it is sent: by which process (lease_owner) and until when (lease_until),
    # so two bot processes on one database never send the same row and a crashed one's claims expire.
    # A destination's pending rows are read in order, to claim it whole and send it in order.
    _execute_all(
        db,
        """
        ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
        ALTER TABLE outbox ADD COLUMN lease_until TEXT;
        CREATE INDEX outbox_pending_by_target ON outbox(target, id) WHERE status = 'pending'
        """,
    )


@migrations(name="0018_grouped_proposals")
def grouped_proposals(db: Database) -> None:
    # Under backlog one message shows several proposals; an edit of one of them re-renders the whole message,
    # so the matches a message shows are looked up by the message.
    _execute_all(db, "CREATE INDEX match_messages_by_message ON match_messages(channel_id, message_id)")


@migrations(name="0019_post_path")
def post_path(db: Database) -> None:
    # The duplicate check looks for one org's open post of the same kind, item, place and unit: by org and
    # status alone it read every open post of the org (a large org has thousands). The wider index answers it
    # with one seek and still serves every read by org and status, so a post writes no more index pages.
    _execute_all(
        db,
        """
        DROP INDEX posts_by_org;
        CREATE INDEX posts_by_org ON posts(org_id, status, kind, item_key, place_key, unit, created_at)
        """,
    )


@migrations(name="0020_nearest_first")
def nearest_first(db: Database) -> None:
    # Candidates are read nearest first: a local grid (cells about 30 km across, the same for every event) lets
    # one probe per cell of a post's town find its partners there, however many larger posts the event holds;
    # the event-wide cells grow to twice the radius, since they now only have to find far partners. Recent
    # posts per local cell tell whether a post's area is busy (then it looks in its own town first).
    from bot.grid import cell_of, local_cell_of

    _execute_all(
        db,
        """
        ALTER TABLE posts ADD COLUMN near_cell INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX posts_near_candidates
            ON posts(event_id, kind, item_key, near_cell, urgency_rank, remaining DESC)
            WHERE status = 'open' AND remaining > 0;
        CREATE INDEX posts_near_recent ON posts(event_id, near_cell, created_at)
        """,
    )
    rows = db.execute(
        "SELECT posts.id, posts.lat, posts.lon, events.radius_km FROM posts JOIN events ON events.id = posts.event_id"
    ).fetchall()
    db.conn.executemany(
        "UPDATE posts SET cell = ?, near_cell = ? WHERE id = ?",
        [(cell_of(lat, lon, radius), local_cell_of(lat, lon), post_id) for post_id, lat, lon, radius in rows],
    )


@migrations(name="0021_outbox_holders")
def outbox_holders(db: Database) -> None:
    # A claim passes by a destination another process holds. Asked of the (target, id) index, that question
    # read every pending row of the destination, for every row considered: with 3,000 rows waiting for one
    # channel's rate limit, a claim of 200 rows read 600,000. By holder it reads only other holders' rows.
    _execute_all(
        db,
        "CREATE INDEX outbox_pending_by_holder ON outbox(target, lease_owner, lease_until) WHERE status = 'pending'",
    )


@migrations(name="0022_busy_area_covering")
def busy_area_covering(db: Database) -> None:
    # Whether a new post's area is busy reads the recent posts of its town's cells until one lies within reach.
    # With only (event, cell, created_at) indexed, each recent post cost a row lookup for its org and place; in a
    # busy cell at the edge of the reach that was thousands of lookups (2-4 ms of a 5 ms post). The index now
    # holds what the read filters on.
    _execute_all(
        db,
        """
        DROP INDEX posts_near_recent;
        CREATE INDEX posts_near_recent ON posts(event_id, near_cell, created_at, org_id, lat, lon)
        """,
    )


def _candidate_index(name: str, group: str, cell: str, covered: str) -> str:
    """An ordered candidate index: a cell's most urgent, largest open posts of an item (or family) first, holding
    the ``covered`` columns its reads filter on and return."""
    return (
        f"CREATE INDEX {name} ON posts(event_id, kind, {group}, {cell}, urgency_rank, remaining DESC, {covered})"
        " WHERE status = 'open' AND remaining > 0"
    )


@migrations(name="0023_covering_candidates")
def covering_candidates(db: Database) -> None:
    # A post's candidate read is a few dozen index probes, each returning a few rows. With only the order
    # indexed, every row cost a lookup in the table for the columns ranking reads; the indexes now hold them
    # (a probe 13 -> 7 us at 100k open posts of each kind).
    columns = "org_id, deadline, status, unit, lat, lon, urgency, created_at, reach_level"
    for name, cell in (("posts_match_candidates", "cell"), ("posts_near_candidates", "near_cell")):
        db.execute(f"DROP INDEX {name}")
        db.execute(_candidate_index(name, "item_key", cell, columns))


@migrations(name="0024_item_families")
def item_families(db: Database) -> None:
    # An item's family (its parent's key, or its own at the top: bot.taxonomy.Taxonomy.family) lets one probe
    # per cell read all its siblings, where one probe per sibling per cell was the slowest posts' largest cost.
    # The store fills the column as it opens (Posts.refresh_families), from the catalogue of the day.
    columns = "item_key, org_id, deadline, status, unit, lat, lon, urgency, created_at, reach_level"
    db.execute("ALTER TABLE posts ADD COLUMN family TEXT NOT NULL DEFAULT ''")
    db.execute(_candidate_index("posts_family_candidates", "family", "cell", columns))
    db.execute(_candidate_index("posts_near_family_candidates", "family", "near_cell", columns))


@migrations(name="0025_no_open_item_index")
def no_open_item_index(db: Database) -> None:
    # Every read of open posts by event, kind and item now goes through the candidate indexes (custom items in
    # use included), so this index was written by every post and read by none; each index is a page a post's
    # commit writes.
    db.execute("DROP INDEX posts_open_by_item")


@migrations(name="0026_fewer_write_indexes")
def fewer_write_indexes(db: Database) -> None:
    # Each index is a page a post's commit writes, and a commit's cost is its pages: a post wrote 3.2 pages of
    # outbox_pending_by_target and 1.3 of matches_by_need, of 37.7. Since 0021 every read of a destination's
    # pending rows seeks the holder index, which leads with the destination too; the pair's unique index leads
    # with the need, which finds a need's few matches as well.
    db.execute("DROP INDEX outbox_pending_by_target")
    db.execute("DROP INDEX matches_by_need")
