"""The ``cloudant-odm`` command.

Subcommands: ``sync`` (deploy design documents), ``check`` (validate declarations and
print the design documents), ``rollback`` (restore the ``_OLD`` copies), ``changes``
(follow typed changes), ``migrate`` (bring documents to their class's schema version).
Exit codes: 0 done, 1 failed, 2 a dry run found differences (a CI drift check).

Adding a subcommand: write ``add_<name>(subparsers)``, which adds its parser and sets
``run`` (a function from the parsed arguments to an exit code) with ``set_defaults``,
and append it to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import IO, Any, NoReturn

import requests

from cloudant_odm.changes import Checkpoint, follow
from cloudant_odm.client import (
    ApiException,
    CloudantV1,
    NoAuthAuthenticator,
    get_authenticator_from_environment,
)
from cloudant_odm.client.errors import redact_text, redact_url
from cloudant_odm.design import (
    DeployError,
    Generated,
    Progress,
    SyncReport,
    collect_models,
    generate,
    render,
    rollback,
    sync,
)
from cloudant_odm.migrations import MigrationProgress, MigrationReport, migrate
from cloudant_odm.models import Document, to_json
from cloudant_odm.models.errors import DocumentDefinitionError
from cloudant_odm.session import Session

__all__ = ["EXIT_DIFFERENCES", "EXIT_FAILED", "EXIT_OK", "SUBCOMMANDS", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DIFFERENCES = 2

PROG = "cloudant-odm"
DESCRIPTION = """\
Deploy and check the design documents that cloudant_odm document classes declare,
follow their typed changes, and migrate their documents to their schema version.
Credentials come from the environment, as for CloudantV1.new_instance():
CLOUDANT_URL, CLOUDANT_AUTH_TYPE, CLOUDANT_APIKEY, CLOUDANT_USERNAME,
CLOUDANT_PASSWORD, ... (or a credentials file / VCAP_SERVICES).
Exit codes: 0 done, 1 failed, 2 a dry run found differences."""


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error; here 2 means "a dry run found differences",
    so usage errors exit 1 like every other failure."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        # argparse quotes the arguments it refuses: a --url with a password among them.
        self.exit(EXIT_FAILED, f"{self.prog}: error: {redact_text(message)}\n")


# --- shared pieces ---------------------------------------------------------------------


def _add_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models",
        nargs="+",
        metavar="MODELS",
        help="module import path (myapp.models) or Python file (myapp/models.py) "
        "defining the Document classes; several may be given",
    )


def _add_connection(parser: argparse.ArgumentParser, *, db_required: bool) -> None:
    parser.add_argument(
        "--db",
        required=db_required,
        help="database name"
        + ("" if db_required else " (default: the Meta.db all the models share)"),
    )
    parser.add_argument(
        "--url",
        help="server URL (default: $CLOUDANT_URL); credentials still come from the environment",
    )
    parser.add_argument(
        "--service-name",
        default="CLOUDANT",
        help="prefix of the environment variables to read (default: CLOUDANT)",
    )


def load_models(specs: Sequence[str]) -> list[ModuleType]:
    """Import each module path or Python file."""
    modules: list[ModuleType] = []
    for spec in specs:
        path = Path(spec)
        if spec.endswith(".py") or path.is_file():
            modules.append(_import_file(path))
        else:
            # Like `python -m`: modules under the current directory are importable.
            cwd = os.getcwd()
            if cwd not in sys.path:
                sys.path.insert(0, cwd)
            modules.append(importlib.import_module(spec))
    return modules


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    # Its directory goes on sys.path so that it can import its sibling modules.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem if path.stem not in sys.modules else f"_cloudant_odm_models_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"can't import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _make_client(args: argparse.Namespace) -> CloudantV1:
    service: str = args.service_name
    if args.url:
        authenticator = get_authenticator_from_environment(service) or NoAuthAuthenticator()
        client = CloudantV1(authenticator)
        client.set_service_url(args.url)
        return client
    return CloudantV1.new_instance(service)


def _database(args: argparse.Namespace, modules: Sequence[ModuleType]) -> str:
    if args.db:
        return str(args.db)
    dbs = {m._options.db for m in collect_models(modules) if not m._options.abstract}
    if len(dbs) == 1 and None not in dbs:
        return str(dbs.pop())
    named = sorted(d for d in dbs if d is not None)
    if not named:
        raise _UsageError("give --db: the models don't name a database (no Meta.db)")
    raise _UsageError(f"give --db: the models don't share one Meta.db ({', '.join(named)})")


class _UsageError(Exception):
    pass


def _err(message: str) -> None:
    print(f"{PROG}: error: {redact_text(message)}", file=sys.stderr)


def _load(args: argparse.Namespace) -> tuple[list[ModuleType], Generated] | int:
    """Import the models and generate; an exit code when that fails."""
    try:
        modules = load_models(args.models)
        return modules, generate(modules)
    except DocumentDefinitionError as exc:
        _err(f"invalid declarations: {exc}")
    except Exception:
        _err(f"could not import {' '.join(args.models)}:")
        traceback.print_exc()
    return EXIT_FAILED


# --- progress display ------------------------------------------------------------------


class _Printer:
    """Writes progress to ``stream`` (stderr), redrawing a line in place on a terminal."""

    def __init__(self, stream: IO[str] | None = None, *, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


class ProgressPrinter(_Printer):
    """Shows deploy progress: a bar redrawn in place on a terminal, one line per step
    (and per 10 % of a build) otherwise."""

    def __init__(self, stream: IO[str] | None = None, *, width: int = 30) -> None:
        super().__init__(stream, width=width)
        self._started: dict[str, float] = {}
        self._last: dict[str, tuple[str, int]] = {}
        self._open_line = False

    def __call__(self, event: Progress) -> None:
        if event.phase == "done":
            self._end_line()
            return
        if event.phase == "building":
            self._building(event)
            return
        self._end_line()
        note = f" ({event.message})" if event.message else ""
        self._write(f"  {event.phase:<9} {event.target}{note}\n")

    def _building(self, event: Progress) -> None:
        started = self._started.setdefault(event.target, time.monotonic())
        fraction = event.fraction
        if fraction is None:
            elapsed = time.monotonic() - started
            text = f"  building  {event.target}  (no progress data from the server) {elapsed:.0f}s"
            step = -1
        else:
            filled = round(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            text = (
                f"  building  {event.target}  [{bar}] {fraction * 100:3.0f}%  "
                f"{event.changes_done}/{event.total_changes} changes"
            )
            step = int(fraction * 10)
        if self.tty:
            self._write("\r" + text)
            self._open_line = True
            return
        if self._last.get(event.target) != ("building", step):
            self._last[event.target] = ("building", step)
            self._write(text + "\n")

    def _end_line(self) -> None:
        if self._open_line:
            self._write("\n")
            self._open_line = False


def print_report(report: SyncReport, *, diffs: bool = True, out: IO[str] | None = None) -> None:
    """The plan or outcome of a sync, as people read it."""
    stream = out if out is not None else sys.stdout
    for change in report.changes:
        method = f"  ({change.method})" if change.method and change.action == "update" else ""
        stream.write(f"  {change.action:<9} {change.id}{method}\n")
    if diffs and report.diff():
        stream.write("\n" + report.diff())
    for warning in report.warnings:
        stream.write(f"warning: {warning}\n")


# --- check -----------------------------------------------------------------------------


def add_check(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate declarations and print the generated design documents",
        description="Import the models, check every declaration (as the class statements "
        "and generate() do) and print the design documents and Mango indexes they "
        "generate. Needs no server.",
    )
    _add_models(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the canonical JSON instead of the readable form",
    )
    parser.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    _, generated = loaded
    if args.json:
        print(generated.to_json(indent=2))
        return EXIT_OK
    for ddoc in generated.design_documents:
        print(f"== {ddoc.id}")
        print("\n".join(render(ddoc.body)))
        print()
    for index in generated.indexes:
        print(f"== Mango index {index.id}")
        print("\n".join(render(index.definition)))
        print()
    count = len(generated.design_documents)
    print(f"OK: {count} design document(s), {len(generated.indexes)} Mango index(es)")
    return EXIT_OK


# --- sync ------------------------------------------------------------------------------


def add_sync(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="deploy the design documents the models declare",
        description="Make the database's design documents and Mango indexes match the "
        "models. Unchanged design documents are not written; a changed one is staged "
        "as <ddoc>_NEW, built, verified and copied over the live one (move-and-switch), "
        "so queries never wait for an index build. Prints the plan with a diff, then "
        "progress while indexes build.",
    )
    _add_models(parser)
    _add_connection(parser, db_required=False)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="only print what would change; exit 2 if anything would (a CI drift check)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="also remove design documents and Mango indexes that cloudant_odm deployed "
        "and the models no longer declare",
    )
    parser.add_argument(
        "--strategy",
        choices=("move-and-switch", "in-place"),
        default="move-and-switch",
        help="how to change an existing design document (default: move-and-switch; "
        "in-place rewrites it, and queries wait for the rebuild)",
    )
    parser.add_argument(
        "--keep-old",
        action="store_true",
        help="keep the <ddoc>_OLD rollback copies after a successful switch",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="take over the lock of a deploy that crashed and finish its work",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up waiting for index builds after this long (default: no limit)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often to check build progress (default: 2)",
    )
    parser.add_argument("--quiet", action="store_true", help="no diffs, no progress display")
    parser.set_defaults(run=run_sync)


def run_sync(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    modules, generated = loaded
    try:
        db = _database(args, modules)
        client = _make_client(args)
        print(f'Database "{db}" at {redact_url(client.service_url or "")}:')
        plan = sync(client, db, generated, strategy=args.strategy, dry_run=True, prune=args.prune)
        print_report(plan, diffs=not args.quiet)
        if args.dry_run:
            if plan.changed:
                print(f"Dry run: {plan.summary()}; nothing was written.")
                return EXIT_DIFFERENCES
            print("Dry run: up to date.")
            return EXIT_OK
        if not plan.changed:
            print("Up to date: nothing to do.")
            return EXIT_OK
        print("Deploying:")
        report = sync(
            client,
            db,
            generated,
            strategy=args.strategy,
            prune=args.prune,
            keep_old=args.keep_old,
            resume=args.resume,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            progress=None if args.quiet else ProgressPrinter(),
        )
    except _UsageError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except (DeployError, ApiException, requests.RequestException, ValueError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    for warning in report.warnings:
        if warning not in plan.warnings:
            print(f"warning: {warning}")
    if report.resumed_from:
        print(f"Resumed the deploy of {report.resumed_from.get('host', '?')}.")
    print(f"Done: {report.summary()}.")
    return EXIT_OK


# --- rollback --------------------------------------------------------------------------


def add_rollback(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="restore design documents from their <ddoc>_OLD copies",
        description="Copy each <ddoc>_OLD (kept by a deploy that crashed, or by sync "
        "--keep-old) back over the live design document, then delete _OLD and any "
        "_NEW. Without --ddoc: the design documents a crashed deploy was working on, "
        "else every one with an _OLD copy.",
    )
    _add_connection(parser, db_required=True)
    parser.add_argument(
        "--ddoc",
        action="append",
        metavar="NAME",
        help="design document to roll back (repeatable)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="take over the lock of a deploy still marked as running (a crashed one)",
    )
    parser.set_defaults(run=run_rollback)


def run_rollback(args: argparse.Namespace) -> int:
    try:
        client = _make_client(args)
        report = rollback(client, args.db, args.ddoc, force=args.force, progress=ProgressPrinter())
    except (DeployError, ApiException, requests.RequestException, ValueError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    print_report(report)
    print(f"Done: {report.summary()}.")
    return EXIT_OK


def add_changes(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "changes",
        help="print the typed changes of the models' documents as JSON lines",
        description="Follow the database's changes feed, filtered on the server to the "
        "documents of the given models, and print one JSON object per change: id, seq, "
        "rev, deleted, type (the class) and doc (as the class writes it, or null). "
        "Runs until interrupted, or to the end of the feed with --one-off.",
    )
    _add_models(parser)
    _add_connection(parser, db_required=False)
    _add_model_choice(parser)
    parser.add_argument(
        "--since",
        help='where to start: a sequence, "0" or "now" (default: the checkpoint, else '
        '"now", or "0" with --one-off)',
    )
    parser.add_argument("--one-off", action="store_true", help="stop at the end of the feed")
    parser.add_argument(
        "--checkpoint",
        metavar="NAME",
        help="resume from and store progress in _local/cloudant-odm-checkpoint-NAME",
    )
    parser.add_argument("--limit", type=int, help="stop after this many changes")
    parser.add_argument(
        "--no-docs", action="store_true", help="don't fetch the documents (doc is null)"
    )
    parser.set_defaults(run=run_changes)


def _add_model_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        action="append",
        metavar="CLASS",
        help="only this Document class (and its subclasses); repeatable (default: all)",
    )


def _chosen_models(args: argparse.Namespace, modules: Sequence[ModuleType]) -> list[type[Document]]:
    """The concrete classes of ``modules``, or those named by ``--model``."""
    models = [m for m in collect_models(modules) if not m._options.abstract]
    if args.model:
        wanted = set(args.model)
        unknown = wanted - {m.__name__ for m in models}
        if unknown:
            raise _UsageError(f"no Document class named {', '.join(sorted(unknown))}")
        models = [m for m in models if m.__name__ in wanted]
    if not models:
        raise _UsageError("no Document classes found in " + " ".join(args.models))
    return models


def run_changes(args: argparse.Namespace) -> int:
    try:
        modules = load_models(args.models)
        models = _chosen_models(args, modules)
        client = _make_client(args)
        session = Session(client, db=_database(args, modules))
        feed = follow(
            session,
            models,
            since=args.since,
            include_docs=not args.no_docs,
            one_off=args.one_off,
            checkpoint=Checkpoint(args.checkpoint) if args.checkpoint else None,
            limit=args.limit,
        )
        for change in feed:
            line = {
                "id": change.id,
                "seq": change.seq,
                "rev": change.rev,
                "deleted": change.deleted,
                "type": type(change.doc).__name__ if change.doc is not None else None,
                "doc": to_json(change.doc) if change.doc is not None else None,
            }
            print(json.dumps(line, separators=(",", ":")), flush=True)
    except KeyboardInterrupt:
        return EXIT_OK  # the way to end a continuous feed
    except _UsageError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except (ApiException, requests.RequestException, ValueError, ImportError, OSError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    return EXIT_OK


# --- migrate ---------------------------------------------------------------------------


def add_migrate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="bring the models' documents to their schema version",
        description="Rewrite every document of the given models stored at an older "
        "schema version (Meta.schema_version): found with the Mango index the models "
        "declare (deploy it with sync first), upgraded by the models' migrations, "
        "written in _bulk_docs batches, conflicts read again and retried. Progress is "
        "kept in _local/cloudant-odm-migrate-<doc_type>: a stopped run resumes where it "
        "stopped. Exit 1 if a document could not be migrated (each is listed with the "
        "reason), 2 if a dry run found documents to migrate.",
    )
    _add_models(parser)
    _add_connection(parser, db_required=False)
    _add_model_choice(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="upgrade and check the documents, write nothing; exit 2 if any would change",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=500,
        metavar="N",
        help="documents read and written per request (default: 500)",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="ignore the checkpoint of a stopped run and start from the first document",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(run=run_migrate)


class MigrationPrinter(_Printer):
    """Shows migration progress on stderr: a bar redrawn in place on a terminal, a line
    per 10 % otherwise."""

    def __init__(self, stream: IO[str] | None = None, *, width: int = 30) -> None:
        super().__init__(stream, width=width)
        self._last: tuple[str, int] | None = None

    def __call__(self, event: MigrationProgress) -> None:
        total = event.total
        fraction = min(event.done / total, 1.0) if total else (1.0 if event.finished else 0.0)
        filled = round(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        failed = f", {event.failed} failed" if event.failed else ""
        text = (
            f"  {event.model}  [{bar}] {event.done}/{total if total is not None else '?'} "
            f"documents{failed}"
        )
        if self.tty:
            self._write("\r" + text + ("\n" if event.finished else ""))
            return
        step = (event.model, 10 if event.finished else int(fraction * 10))
        if step != self._last:
            self._last = step
            self._write(text + "\n")


def print_migration(report: MigrationReport, *, out: IO[str] | None = None) -> None:
    """What a migration did, per class, with every failure and its reason."""
    stream = out if out is not None else sys.stdout
    verb = "would migrate" if report.dry_run else "migrated"
    for model in report.models:
        resumed = " (resumed)" if model.resumed else ""
        stream.write(
            f"  {model.model} (v{model.schema_version}){resumed}: {model.scanned} found, "
            f"{model.migrated} {verb}, {model.already_current} already current, "
            f"{model.conflicts_retried} conflict(s) retried, {model.failed} failed\n"
        )
        for failure in model.failures:
            stream.write(f"    failed {failure.doc_id!r} (version {failure.from_version}): ")
            stream.write(f"{failure.reason}\n")
        if model.failed > len(model.failures):
            stream.write(f"    ... and {model.failed - len(model.failures)} more failed\n")
    for warning in report.warnings:
        stream.write(f"warning: {warning}\n")


def run_migrate(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        _err("--batch-size must be at least 1")
        return EXIT_FAILED
    try:
        modules = load_models(args.models)
        models = _chosen_models(args, modules)
        db = _database(args, modules)
        client = _make_client(args)
        print(f'Database "{db}" at {redact_url(client.service_url or "")}:', flush=True)
        report = migrate(
            client,
            db,
            models,
            batch_size=args.batch_size,
            dry_run=args.dry_run,
            restart=args.restart,
            progress=None if args.quiet else MigrationPrinter(),
        )
    except DocumentDefinitionError as exc:
        _err(f"invalid declarations: {exc}")
        return EXIT_FAILED
    except _UsageError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except (ApiException, requests.RequestException, ValueError, ImportError, OSError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    print_migration(report)
    if args.dry_run:
        print(f"Dry run: {report.summary()}; nothing was written.")
    else:
        print(f"Done: {report.summary()}.")
    if report.failed:
        return EXIT_FAILED
    return EXIT_DIFFERENCES if args.dry_run and report.migrated else EXIT_OK


# --- entry point -----------------------------------------------------------------------

#: Each adds one subcommand; append yours.
SUBCOMMANDS: list[Callable[[Any], None]] = [
    add_sync,
    add_check,
    add_rollback,
    add_changes,
    add_migrate,
]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser, required=True
    )
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
