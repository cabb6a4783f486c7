"""Coalesce's entry point.

    python run.py                 connect to Discord if DISCORD_TOKEN is set, else start offline mode
    python run.py serve           connect to Discord (needs DISCORD_TOKEN)
    python run.py sandbox         offline mode: the same bot against a simulated Discord, in your browser
    python run.py check           check settings and the database; the exit status tells
    python run.py migrate         bring the database's schema up to date (the bot also does on start)
    python run.py sync            push the slash commands to Discord now (start-up syncs only when they changed)
    python run.py backup PATH     copy the live database to PATH (SQLite online backup, or pg_dump)
    python run.py export DIR      write events, orgs, needs, offers, matches and a 3W as HXL-tagged CSV
    python run.py import DIR      read such CSV files back, into this or a fresh database (all or nothing)

Each subcommand has --help.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.errors import CoalesceError, SettingsError
from bot.settings import Settings, load_settings
from bot.store.backend import Unavailable, is_url

log = logging.getLogger("coalesce")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        args = with_default_command(parser, args, token_set=settings.discord_token is not None)
        if getattr(args, "database", None):
            settings = settings.with_overrides(database=args.database)
    except SettingsError as exc:
        print(f"Setting error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return COMMANDS[args.command](settings, args)
    except CoalesceError as exc:
        print(f"Error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except Unavailable as exc:
        print(f"Error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:
        # A file that cannot be read or written: one line naming it, not a traceback.
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"Error: {where}{one_line(reason)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped.")
        return 0


def one_line(text: str) -> str:
    return " ".join(text.split())


def with_default_command(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, token_set: bool
) -> argparse.Namespace:
    """No subcommand means serve when a token is set, else offline mode, each with its own defaults."""
    if args.command is not None:
        return args
    return parser.parse_args(["serve" if token_set else "sandbox"])


DATABASE_HELP = "SQLite file or postgresql:// URL (default: setting 'database')"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Coalesce: needs, offers and matches for disaster-response coalitions, in Discord.",
        epilog="With no subcommand: serve when DISCORD_TOKEN is set, otherwise sandbox (offline mode).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="connect to Discord (needs DISCORD_TOKEN)")
    serve.add_argument("--database", help=DATABASE_HELP)
    sandbox = sub.add_parser(
        "sandbox",
        help="offline mode: a simulated Discord with a demo server, in a local browser page",
        description="Runs the real bot against a simulated Discord on this machine. Nothing leaves it.",
    )
    sandbox.add_argument(
        "--database",
        type=Path,
        help="SQLite file, recreated on start and refused while another offline mode uses it "
        "(default: a fresh file of this run's own, removed when it ends)",
    )
    sandbox.add_argument("--port", type=int, help="port of the local page (default: setting 'preview_port')")
    sandbox.add_argument("--no-seed", action="store_true", help="start with an empty coalition")
    sandbox.add_argument("--once", action="store_true", help="build the demo, print what a person would see, and exit")
    sandbox.add_argument(
        "--console", action="store_true", help="type commands in this terminal instead of the browser page"
    )
    sync = sub.add_parser(
        "sync",
        help="push the slash commands to Discord now (needs DISCORD_TOKEN)",
        description="Start-up syncs the slash commands only when they changed since the last sync; "
        "this syncs them now, e.g. after they were edited in Discord's developer portal.",
    )
    sync.add_argument("--database", help=DATABASE_HELP)
    check = sub.add_parser("check", help="check settings and the database; exit 0 when all is well")
    check.add_argument("--database", help=DATABASE_HELP)
    migrate = sub.add_parser("migrate", help="create the database or bring its schema up to date")
    migrate.add_argument("--database", help=DATABASE_HELP)
    backup = sub.add_parser(
        "backup", help="copy the database to PATH (SQLite's online backup; pg_dump's custom format for PostgreSQL)"
    )
    backup.add_argument("path", type=Path, help="where to write the copy")
    backup.add_argument("--database", help=DATABASE_HELP)
    export = sub.add_parser(
        "export", help="write events, orgs, needs, offers, matches and a 3W (who does what where) as HXL-tagged CSV"
    )
    export.add_argument("folder", type=Path, help="folder for the CSV files")
    export.add_argument(
        "--include-contacts", action="store_true", help="include org contacts (confidential: handle with care)"
    )
    export.add_argument("--coalition", type=int, help="coalition id, when the database holds several")
    export.add_argument("--database", help=DATABASE_HELP)
    importer = sub.add_parser(
        "import", help="read events, orgs, needs, offers and matches from HXL-tagged CSV files (all or nothing)"
    )
    importer.add_argument("folder", type=Path, help="folder holding the CSV files")
    importer.add_argument("--coalition", type=int, help="coalition id, when the database holds several")
    importer.add_argument("--database", help=DATABASE_HELP)
    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # discord.py's gateway chatter is noise at INFO for an operator.
    logging.getLogger("discord").setLevel(max(logging.WARNING, logging.getLogger().level))


def serve(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord_token:
        print(
            "DISCORD_TOKEN is not set. Put it in the environment or a .env file, "
            "or run `python run.py sandbox` to try Coalesce offline.",
            file=sys.stderr,
        )
        return 2
    from bot.app import create_bot

    bot = create_bot(settings.database, **overrides_of(settings))
    print(f"Coalesce: connecting to Discord (database {bot.core.store.describe()}) ...", flush=True)
    bot.run(settings.discord_token, log_handler=None)
    return 0


def sync(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord_token:
        print("DISCORD_TOKEN is not set: syncing slash commands needs the bot's token.", file=sys.stderr)
        return 2
    from bot.app import SYNCED_COMMANDS
    from bot.store import Store

    store = Store(settings.database)
    try:
        store.app_state.forget(SYNCED_COMMANDS)
    finally:
        store.close()
    return asyncio.run(_sync(settings))


async def _sync(settings: Settings) -> int:
    from bot.app import create_bot

    bot = create_bot(settings.database, **{**overrides_of(settings), "scheduler": False})
    async with bot:
        await bot.login(settings.discord_token or "")  # login runs setup_hook, which syncs what it finds changed
    print(f"Synced {len(bot.tree.get_commands())} command groups with Discord.")
    return 0


def overrides_of(settings: Settings) -> dict[str, object]:
    """Settings to pass on to create_bot: all but the database and the token."""
    from dataclasses import asdict

    values = asdict(settings)
    values.pop("database")
    values.pop("discord_token")
    return values


def sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from sandbox import run_sandbox

    port = args.port if args.port is not None else settings.preview_port
    return asyncio.run(
        run_sandbox(
            args.database,
            settings=overrides_of(settings),
            port=port,
            seed=not args.no_seed,
            once=args.once,
            console=args.console,
        )
    )


def check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store import Store
    from bot.store.postgres import redacted

    print(f"settings: ok (database {redacted(str(settings.database))}, time zone {settings.default_timezone})")
    print(f"discord token: {'set' if settings.discord_token else 'not set (offline mode only)'}")
    if not is_url(settings.database) and not Path(settings.database).exists():
        print(f"database: {settings.database} does not exist yet; it is created on first start")
        return 0
    store = Store(settings.database)
    try:
        problems = store.integrity_problems()
        print(f"database: {len(store.applied_migrations())} migrations applied, {len(problems)} problem(s)")
        for problem in problems[:20]:
            print(f"  {problem}")
        print(f"outbox: {store.outbox.backlog()} notification(s) waiting")
        return 1 if problems else 0
    finally:
        store.close()


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store import Store

    store = Store(settings.database)
    try:
        print(f"database: {store.describe()}: {len(store.applied_migrations())} migrations applied, none pending")
        return 0
    finally:
        store.close()


def backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store.backup import backup_database, dump_database

    if is_url(settings.database):
        if Path(args.path).is_dir():
            raise CoalesceError(f"{args.path} is a folder; give the backup a file name")
        with leaves_nothing_behind(Path(args.path).parent):
            counts = dump_database(str(settings.database), args.path)
        print(f"Backed up to {args.path} (pg_dump custom format): " + ", ".join(f"{t} {n}" for t, n in counts.items()))
        return 0
    source, target = Path(settings.database), Path(args.path)
    if not source.is_file():
        raise CoalesceError(f"there is no database at {source} to back up (name one with --database)")
    if target.is_dir():
        raise CoalesceError(f"{target} is a folder; give the backup a file name, like {target / 'coalesce-backup.db'}")
    if target.resolve() == source.resolve():
        raise CoalesceError("the backup must go to another file than the database itself")
    with leaves_nothing_behind(target.parent):
        counts = backup_database(source, target)
    print(f"Backed up {source} to {target}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


def export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.interop import export_dir

    written = export_dir(
        settings.database, args.folder, coalition_id=args.coalition, include_contacts=args.include_contacts
    )
    print(f"Exported to {args.folder}: " + ", ".join(f"{name}.csv {rows} rows" for name, rows in written.items()))
    return 0


def import_(settings: Settings, args: argparse.Namespace) -> int:
    from bot.interop import ImportRejected, import_into

    folder = Path(args.folder)
    if not folder.is_dir():
        raise CoalesceError(f"{folder} is not a folder of CSV files to import")
    if is_url(settings.database):
        # All or nothing in one transaction: a rejected file leaves nothing on the server to tidy away.
        database: str | Path = settings.database
        missing: list[Path] = []
        created = False
    else:
        database = Path(settings.database)
        if database.is_dir():
            raise CoalesceError(f"{database} is a folder, not a database file")
        missing = [p for p in (database.parent, *database.parent.parents) if not p.exists()]
        created = not database.exists()
    try:
        summary = import_into(database, folder, coalition_id=args.coalition)
    except BaseException as exc:
        if created:  # a database this command created holds nothing: take it and its folders away again
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            for path in missing:
                with contextlib.suppress(OSError):
                    path.rmdir()
        if isinstance(exc, ImportRejected):
            for problem in exc.problems[:50]:
                print(f"Not imported: {problem}", file=sys.stderr)
            return 1
        raise
    for line in summary.lines():
        print(line)
    return 0


@contextlib.contextmanager
def leaves_nothing_behind(folder: Path) -> Iterator[None]:
    """On failure, remove the folders this command created (a missing parent of its output), and only those."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        for path in missing:  # deepest first
            with contextlib.suppress(OSError):
                for partial in path.glob("*.partial"):
                    partial.unlink()
                path.rmdir()
        raise


COMMANDS = {
    "serve": serve,
    "sandbox": sandbox,
    "sync": sync,
    "check": check,
    "migrate": migrate,
    "backup": backup,
    "export": export,
    "import": import_,
}

if __name__ == "__main__":
    sys.exit(main())
