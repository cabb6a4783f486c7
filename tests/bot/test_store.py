"""The store: migrations from empty, idempotent on restart; WAL and foreign keys; one change, one transaction."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from bot.migrations import migrations
from bot.store import Store
from bot.store.backend import IntegrityError, insert_rows
from bot.store.outbox import ROW_COLUMNS
from tests.conftest import FakeClock

NOW = FakeClock().now


def all_migration_names() -> list[str]:
    """Every declared migration, in order: what an empty database has pending."""
    return [m.name for m in migrations.pending(Database(memory=True))]


def test_migrations_apply_in_order_to_an_empty_file(new_database):
    store = Store(new_database("fresh"))

    assert store.applied_migrations() == all_migration_names()
    assert store.pending_migrations() == []
    assert store.applied_migrations()[0] == "0001_foundation"
    assert store.integrity_problems() == []
    store.close()


def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "coalesce.db"
    first = Store(path)
    applied = first.applied_migrations()
    schema = sorted(first.db.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str)
    first.close()

    for _ in range(2):
        again = Store(path)
        assert again.applied_migrations() == applied
        assert again.pending_migrations() == []
        assert sorted(again.db.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str) == schema
        again.close()


@pytest.mark.sqlite_only
def test_every_connection_has_wal_and_foreign_keys(new_database):
    store = Store(new_database("coalesce"))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(IntegrityError):
        store.orgs.add_member(999, 5, added_by=5, now=NOW)  # no org 999
    store.close()


def test_a_change_that_fails_midway_leaves_nothing_behind(new_database):
    store = Store(new_database("coalesce"))
    coalition = store.coalitions.for_guild(1, "G", NOW, timezone="UTC", digest_times="08:00")

    with pytest.raises(IntegrityError), store.atomic():
        store.outbox.enqueue(coalition.id, "notice", "channel:1", {"text": "hello"}, NOW)
        store.audit.record(coalition.id, 5, "org.register", "org:1", NOW)
        store.orgs.add_member(999, 5, added_by=5, now=NOW)

    assert store.outbox.backlog() == 0
    assert store.audit.all(coalition.id) == []
    store.close()


def test_batched_notifications_and_audit_entries_are_stored_in_order_and_roll_back_with_their_change(new_database):
    store = Store(new_database("coalesce"))
    coalition = store.coalitions.for_guild(1, "G", NOW, timezone="UTC", digest_times="08:00")
    with store.atomic():
        queued = store.outbox.enqueue_many(
            coalition.id, "match_proposal", [("user:1", {"match_id": 7}), ("channel:2", {"match_id": 7})], NOW
        )
        audited = store.audit.record_many(coalition.id, 0, "match.propose", [("match:7", {"need": "N-1"})], NOW)
    with pytest.raises(IntegrityError), store.atomic():
        store.outbox.enqueue_many(coalition.id, "notice", [("channel:3", {"text": "lost"})], NOW)
        store.audit.record_many(coalition.id, 5, "org.register", [("org:1", {})], NOW)
        store.orgs.add_member(999, 5, added_by=5, now=NOW)

    due = store.outbox.due(NOW)
    assert (queued, audited) == (2, 1)
    assert [(m.target, m.payload) for m in due] == [("user:1", {"match_id": 7}), ("channel:2", {"match_id": 7})]
    assert [(e.action, e.subject) for e in store.audit.all(coalition.id)] == [("match.propose", "match:7")]
    assert store.outbox.enqueue_many(coalition.id, "notice", [], NOW) == 0
    store.close()


@pytest.mark.parametrize("count", [1, 99, 100, 101, 250])
def test_rows_inserted_in_batches_keep_their_order_and_a_bad_row_in_the_last_batch_inserts_none(new_database, count):
    store = Store(new_database("coalesce"))
    coalition = store.coalitions.for_guild(1, "G", NOW, timezone="UTC", digest_times="08:00")
    moment = "2026-12-01T12:00:00+00:00"
    rows = [(coalition.id, "notice", f"channel:{i}", f'{{"text": "{i}"}}', moment, moment) for i in range(count)]

    assert insert_rows(store.db, ROW_COLUMNS, rows, per_statement=100) == count
    with pytest.raises(IntegrityError):
        insert_rows(store.db, ROW_COLUMNS, [*rows[:-1], (*rows[-1][:3], None, moment, moment)], per_statement=100)

    due = store.outbox.due(NOW, limit=1000)
    assert [m.target for m in due] == [f"channel:{i}" for i in range(count)]
    assert insert_rows(store.db, ROW_COLUMNS, []) == 0
    store.close()


def test_a_failed_inner_block_undoes_only_itself_and_any_depth_of_blocks_nests(new_database):
    store = Store(new_database("coalesce"))
    coalition = store.coalitions.for_guild(1, "G", NOW, timezone="UTC", digest_times="08:00")
    with store.atomic():
        store.outbox.enqueue(coalition.id, "notice", "channel:1", {"text": "kept"}, NOW)
        with pytest.raises(IntegrityError), store.atomic():
            store.outbox.enqueue(coalition.id, "notice", "channel:1", {"text": "undone"}, NOW)
            store.orgs.add_member(999, 5, added_by=5, now=NOW)
        with store.atomic():
            with store.atomic():
                store.outbox.enqueue(coalition.id, "notice", "channel:1", {"text": "deep"}, NOW)
            with pytest.raises(IntegrityError), store.atomic():
                store.orgs.add_member(999, 5, added_by=5, now=NOW)
            store.outbox.enqueue(coalition.id, "notice", "channel:1", {"text": "after"}, NOW)

    assert [m.payload["text"] for m in store.outbox.due(NOW)] == ["kept", "deep", "after"]
    store.close()


def test_outbox_marks_a_row_sent_once_and_never_back_to_pending(new_database):
    store = Store(new_database("coalesce"))
    coalition = store.coalitions.for_guild(1, "G", NOW, timezone="UTC", digest_times="08:00")
    row_id = store.outbox.enqueue(coalition.id, "notice", "channel:1", {"text": "hi"}, NOW)

    store.outbox.mark_sent(row_id, NOW)
    store.outbox.mark_sent(row_id, NOW)

    row = store.outbox.get(row_id)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert store.outbox.due(NOW) == []
    assert store.outbox.counts(coalition.id) == {"sent": 1}
    store.close()
