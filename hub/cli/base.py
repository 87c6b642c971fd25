"""What every ``hub`` command shares: the root app, the global flags, failure reporting,
the consoles and running a command's coroutine on the configured hub.

Only typer is imported here: rich, the engine, the database layer and pydantic load inside the
commands that use them, so ``hub --help`` and usage errors answer at once.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

from hub.errors import HubError, safe_error

if TYPE_CHECKING:
    from rich.console import Console

    from hub.config import Settings
    from hub.runtime import Hub

T = TypeVar("T")

# Flags that may stand anywhere on the line (`hub sync zd --json` as `hub --json sync zd`):
# they are moved in front of the subcommand, where the root command reads them.
_GLOBAL_FLAGS = frozenset({"--json", "--verbose", "-v", "--traceback"})
_GLOBAL_VALUE_OPTIONS = frozenset({"--config", "--as"})
GLOBAL_FLAGS_HELP = (
    "Anywhere on the line: --json (machine-readable output), --verbose/-v (the hub's debug "
    "lines and the stack of a failure), --traceback (the stack of a failure), --config FILE, "
    "--as PRINCIPAL (act as that principal; HUB_PRINCIPAL_TOKEN authenticates by token)."
)
EXIT_FAILURE = 1
PRINCIPAL_TOKEN_ENV = "HUB_PRINCIPAL_TOKEN"  # noqa: S105 - a variable name
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class _State:
    """The global flags of this invocation (set by the root command's callback)."""

    config: Path | None = None
    verbose: bool = False
    traceback: bool = False
    json: bool = False
    terminated: bool = False  # SIGTERM, rather than Ctrl-C, ended the command
    principal: str | None = None  # --as: the principal the command acts as


state = _State()


def global_flags_first(args: list[str]) -> list[str]:
    """``args`` with the global flags (and ``--config FILE``) moved to the front; everything
    after ``--`` stays where it is."""
    end = args.index("--") if "--" in args else len(args)
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < end:
        arg = args[i]
        if arg in _GLOBAL_FLAGS or arg.split("=", 1)[0] in _GLOBAL_VALUE_OPTIONS:
            front.append(arg)
            if arg in _GLOBAL_VALUE_OPTIONS and i + 1 < end:
                front.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest + args[end:]


class HubGroup(TyperGroup):
    """The root command: global flags in any position, a usage line for the global flags in
    every command's help, and one way of reporting what went wrong."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _add_epilog(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, global_flags_first(args))

    # ``ctx``: typer's own click Context, a class typer does not export.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # exit codes and usage errors (exit 2) as typer reports them
        except HubError as exc:
            fail(str(exc), exc)
        except Exception as exc:
            fail(f"unexpected {safe_error(exc)}", exc)
        except BaseException as exc:
            # Ctrl-C, or SIGTERM cancelling the command's task (asyncio's CancelledError).
            if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError":
                _interrupted()
            raise


def _add_epilog(group: TyperGroup) -> None:
    """Every command's help ends saying where the global flags may go."""
    for command in group.commands.values():
        command.epilog = command.epilog or GLOBAL_FLAGS_HELP
        if isinstance(command, TyperGroup):
            _add_epilog(command)


def fail(message: str, exc: BaseException | None = None, code: int = EXIT_FAILURE) -> NoReturn:
    """Report a failure in one line on stderr (JSON with --json), the stack with --traceback
    or --verbose, and exit ``code``."""
    if exc is not None and (state.traceback or state.verbose):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if state.json:
        sys.stderr.write(json.dumps({"error": message}) + "\n")
    else:
        from rich.text import Text

        # Text, not markup: a message may hold brackets ("['a']"). soft_wrap: one line
        # however long, so scripts and tests read it whole.
        line = Text.assemble(("error:", "red"), " ", message)
        err_console().print(line, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _interrupted() -> NoReturn:
    """Ctrl-C or SIGTERM: say what was kept; the runs it cut short are marked interrupted."""
    message = "interrupted; committed pages are kept, the next run resumes from them"
    fail(message, None, EXIT_TERMINATED if state.terminated else EXIT_INTERRUPTED)


app = typer.Typer(
    name="hub",
    cls=HubGroup,
    help="Unified customer-service integration hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: no `<bool>` on flags, and rich is not imported to answer --help.
    rich_markup_mode=None,
)


def group(name: str, help: str) -> typer.Typer:
    """A noun group of the root command (``hub connections ...``)."""
    sub = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(sub, name=name)
    return sub


@app.callback(epilog=GLOBAL_FLAGS_HELP)
def main(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="hub.toml to use (default: HUB_CONFIG, ./hub.toml)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="The hub's debug lines, and the stack of a failure."),
    ] = False,
    show_traceback: Annotated[
        bool, typer.Option("--traceback", help="The stack of a failure, for bug reports.")
    ] = False,
    principal: Annotated[
        str | None,
        typer.Option("--as", help="Act as this principal (default: the local OS user, admin)."),
    ] = None,
) -> None:
    """Unified customer-service integration hub. Example: hub sync zd --stream tickets"""
    state.config = config
    state.json = as_json
    state.verbose = verbose
    state.traceback = show_traceback
    state.terminated = False
    state.principal = principal


# -- consoles and output ------------------------------------------------------------------


@cache
def console() -> Console:
    """Standard output for people (rich); it writes to whatever ``sys.stdout`` is then."""
    from rich.console import Console

    # Rich assumes 80 columns when output is not a terminal; summaries need more to stay legible.
    return Console() if sys.stdout.isatty() else Console(width=120)


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)


def say(message: str) -> None:
    """One line for people, printed as it is (no markup, no highlighting)."""
    console().print(message, highlight=False, markup=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, indent=2) + "\n")


def report(value: Any, for_people: Callable[[], None]) -> None:
    """``value`` as JSON with --json, else what ``for_people`` prints."""
    if state.json:
        print_json(value)
    else:
        for_people()


def when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


# -- running commands ---------------------------------------------------------------------


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; SIGTERM cancels it as Ctrl-C does, so the runs it cuts
    short close as interrupted (the root command reports failures)."""
    import asyncio

    async def main() -> T:
        task = asyncio.current_task()
        if task is not None:
            _cancel_on_sigterm(asyncio.get_running_loop(), task)
        return await coro_fn()

    return asyncio.run(main())


def _cancel_on_sigterm(loop: Any, task: Any) -> None:
    def terminate() -> None:
        state.terminated = True
        task.cancel()

    # Not on Windows, nor outside the main thread: there SIGTERM ends the process as it did.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, terminate)


def settings() -> Settings:
    from hub.config import load_settings
    from hub.log import configure_logging

    s = load_settings(state.config)
    # Database drivers and the HTTP transport stay at WARNING: --verbose is about the hub.
    configure_logging(
        "DEBUG" if state.verbose else s.log_level,
        json=s.log_format == "json",
        library_level="WARNING",
    )
    return s


def with_hub(service: Callable[[Hub], Awaitable[T]]) -> T:
    """Open the configured hub, run one service on it, close it."""

    from hub.runtime import Hub

    async def go() -> T:
        async with Hub.open(settings()) as hub:
            await act_as_principal(hub)
            result = await service(hub)
            await sign_if_many_unsigned(hub)
            return result

    return run(go)


async def act_as_principal(hub: Hub) -> None:
    """The command acts as ``--as`` and/or HUB_PRINCIPAL_TOKEN, else as the local OS user
    (admin); a failed authentication is recorded and ends the command."""
    import os

    from hub.audit import authenticate

    token = os.environ.get(PRINCIPAL_TOKEN_ENV) or None
    hub.actor = await authenticate(hub, name=state.principal, token=token)


async def sign_if_many_unsigned(hub: Hub) -> None:
    """A command that left 1,000 unsigned entries signs a checkpoint before it ends."""
    from hub.services.audit import checkpoint_if_due

    await checkpoint_if_due(hub, every_seconds=None)


def assignments(items: list[str] | None, *, flag: str) -> dict[str, Any]:
    from hub.config import parse_assignments

    return parse_assignments(items or [], flag=flag)


TableProgress = Callable[[str, int, int], None]


@contextlib.contextmanager
def table_progress(*, eta: bool = False) -> Iterator[TableProgress]:
    """A bar per table on stderr while a long job walks the store (none with --json):
    yields the ``progress(table, done, total)`` callback the services take."""
    if state.json:
        yield lambda _table, _done, _total: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        (TextColumn("{task.description}"), BarColumn(),
         TextColumn("{task.completed}/{task.total} rows"), TimeRemainingColumn())
        if eta else ()
    )  # fmt: skip
    bars = Progress(*columns, console=err_console(), transient=True)
    tasks: dict[str, Any] = {}

    def tell(table: str, done: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=total)
        bars.update(tasks[table], completed=done, total=total)

    with bars:
        yield tell
