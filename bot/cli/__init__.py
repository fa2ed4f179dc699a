"""`propdesk` command line: run, check, migrate, demo, eval, digest, export, faq, lexicon.

The parser and the thin handlers live here; each command's body is a module of this package
(`digest`, `lexicon`, `classifier`, `demo`), imported only when that command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

from bot.config import Settings, SettingsError, load_settings
from storage.migrate import SchemaNotAtHead

if TYPE_CHECKING:
    from bot.app import App


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request's URL at INFO, and a Bot API URL holds the token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.handler(args) or 0)
    except SettingsError as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return 2
    except SchemaNotAtHead as exc:
        print(f"propdesk: {exc}: run `propdesk migrate` first", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="propdesk", description="PropDesk service desk bot")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser(
        "run",
        help="run the bot against Telegram (needs PROPDESK_TELEGRAM_TOKEN)",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("-v", "--verbose", action="store_true")
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="webhook mode at this public HTTPS address (PROPDESK_WEBHOOK_URL); "
        "needs PROPDESK_WEBHOOK_SECRET",
    )
    run.set_defaults(handler=_run)

    check = sub.add_parser(
        "check",
        help="the start-up checks without starting the bot; groups, admins, SLA table",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("-v", "--verbose", action="store_true")
    check.set_defaults(handler=_check)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=_migrate)

    demo = sub.add_parser("demo", help="offline demo against the local Bot API emulator")
    demo.add_argument("--transport", choices=("aiogram", "ptb"), default="aiogram")
    demo.add_argument("-v", "--verbose", action="store_true")
    demo.set_defaults(handler=_demo)

    evaluate = sub.add_parser("eval", help="evaluate the classifier on a labelled corpus")
    evaluate.add_argument("files", nargs="*", help="JSON-lines files (default: every corpus set)")
    evaluate.set_defaults(handler=_eval)

    digest = sub.add_parser("digest", help="print a property's digest for a day")
    digest.add_argument("--date", required=True, type=_iso_date, help="YYYY-MM-DD, property time")
    digest.add_argument("--property", help="property code (default: every property)")
    digest.add_argument("--week", action="store_true", help="the ISO week containing the date")
    digest.set_defaults(handler=_digest)

    export = sub.add_parser("export", help="write the tickets of a period as an .xlsx file")
    export.add_argument("--from", dest="first", required=True, type=_iso_date, help="YYYY-MM-DD")
    export.add_argument("--to", dest="last", required=True, type=_iso_date, help="YYYY-MM-DD")
    export.add_argument("--property", help="property code (default: every property)")
    export.add_argument("--out", required=True, help="the .xlsx file to write")
    export.set_defaults(handler=_export)

    faq = sub.add_parser("faq", help="the property FAQ (faq_file)")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    gaps = faq_sub.add_parser("gaps", help="questions the FAQ did not answer or that were rejected")
    gaps.add_argument("--days", type=int, default=30, help="how far back (default: 30)")
    gaps.set_defaults(handler=_faq_gaps)
    entries = faq_sub.add_parser("list", help="every FAQ entry: the file's and approved drafts")
    entries.set_defaults(handler=_faq_list)

    lexicon = sub.add_parser("lexicon", help="classifier lexicon tools")
    lexicon_sub = lexicon.add_subparsers(dest="lexicon_command", required=True)
    suggest = lexicon_sub.add_parser("suggest", help="terms that staff corrections point to")
    suggest.set_defaults(handler=_lexicon_suggest)
    train = lexicon_sub.add_parser("train", help="fit the learned models on the labelled corpus")
    train.add_argument("files", nargs="*", help="JSON-lines files (default: the training sets)")
    train.add_argument("--out", help="where to write the models (default: the shipped file)")
    train.add_argument(
        "--add", action="append", default=[], help="a file to train on besides the sets"
    )
    train.set_defaults(handler=_lexicon_train)
    corrections = lexicon_sub.add_parser(
        "export", help="write corrected tickets as labelled lines for `lexicon train --add`"
    )
    corrections.add_argument("file", help="JSON-lines file to write")
    corrections.set_defaults(handler=_lexicon_export)
    return parser


def _settings_help() -> str:
    """Every setting `run` reads, as environment variables (the README explains each)."""
    lines = ["settings (environment, or the TOML file named by PROPDESK_CONFIG):"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        plain = isinstance(default, str | int | float | bool) and default != ""
        shown = f" (default: {default})" if plain else ""
        lines.append(f"  PROPDESK_{name.upper()}{shown}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    overrides = {"webhook_url": args.webhook} if getattr(args, "webhook", None) else {}
    settings = load_settings(**overrides)
    if settings.telegram_token is None:
        raise SettingsError(
            "setting PROPDESK_TELEGRAM_TOKEN: required by `propdesk run` "
            "(the token from @BotFather)"
        )
    return asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then stop in order within PROPDESK_SHUTDOWN_SECONDS."""
    from bot.app import App, LeadershipLost

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)  # from here on a signal means "stop in order"
    try:
        with _one_process_per_sqlite_file(settings):
            app = await App.create(settings)
            freeze_start_heap()
            try:
                return await _run_until_stopped(app, stop)
            except LeadershipLost as exc:
                print(f"propdesk: {exc}", file=sys.stderr)
                return 1
            finally:
                await app.close()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def freeze_start_heap() -> None:
    """What start-up loaded and keeps for the process's life (jieba's dictionary, the
    models, the lexicon: most of the heap) leaves the cycle collector's passes, which
    otherwise walk all of it again and again while updates are handled (bench/e2e.py: about
    5% of the CPU per update). Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def _one_process_per_sqlite_file(settings: Settings) -> Iterator[None]:
    """SQLite has no way to choose a leader: a second process on the same file is refused
    (before it touches the database) instead of sending and sweeping twice."""
    from storage.db import is_sqlite
    from storage.leadership import DatabaseInUse, SqliteFileLock

    if not is_sqlite(settings.database_url):
        yield
        return
    lock = SqliteFileLock(settings.database_url)
    try:
        lock.acquire()
    except DatabaseInUse as exc:
        raise SettingsError(f"setting PROPDESK_DATABASE_URL: {exc}") from exc
    try:
        yield
    finally:
        lock.release()


async def _run_until_stopped(app: App, stop: asyncio.Event) -> int:
    running = asyncio.create_task(app.run())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # the transport ended by itself: report why
            return 0
        logging.getLogger(__name__).info("signal received: stopping")
        await app.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(running, timeout=1.0)  # polling ends once stopped
        return 0
    finally:
        stopping.cancel()
        running.cancel()


def _check(args: argparse.Namespace) -> int:
    from bot.cli.check import run_check

    for line in asyncio.run(run_check(load_settings())):
        print(line)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def migrate() -> None:
        from storage.db import create_engine
        from storage.migrate import upgrade

        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    print("propdesk: database is up to date")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.cli.demo import run_demo

    return asyncio.run(run_demo(transport=args.transport))


def _eval(args: argparse.Namespace) -> int:
    from bot.cli.classifier import evaluate_files

    return evaluate_files(args.files)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a YYYY-MM-DD date") from exc


def _digest(args: argparse.Namespace) -> int:
    from bot.cli.digest import print_digests

    return asyncio.run(print_digests(load_settings(), args.date, args.property, args.week))


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.cli.export import write_export_file

    return asyncio.run(
        write_export_file(load_settings(), args.first, args.last, args.property, Path(args.out))
    )


def _faq_gaps(args: argparse.Namespace) -> int:
    from bot.cli.faq import print_gaps

    return asyncio.run(print_gaps(load_settings(), args.days))


def _faq_list(args: argparse.Namespace) -> int:
    from bot.cli.faq import print_entries

    return asyncio.run(print_entries(load_settings()))


def _lexicon_suggest(args: argparse.Namespace) -> int:
    from bot.cli.lexicon import suggest_from_corrections

    return asyncio.run(suggest_from_corrections(load_settings()))


def _lexicon_train(args: argparse.Namespace) -> int:
    from bot.cli.classifier import train_models

    return train_models(args.files, args.out, args.add)


def _lexicon_export(args: argparse.Namespace) -> int:
    from bot.cli.lexicon import export_corrections

    return asyncio.run(export_corrections(load_settings(), args.file))
