"""What every command shares: the error contract, `-d/--data`, `--quiet`, logging set-up."""

from __future__ import annotations

import logging
import os
import sys

import click
from click.exceptions import NoArgsIsHelpError

from ..errors import ExecutorError, MgrdarkError, file_system_error
from ..executors import SPECS, ExecutorSpec, require_engine
from ..media.write import X264_PRESETS, EncoderSettings
from ..paths import DATA_ENV, DEFAULT_DATA_DIR, DataRoot

DEBUG_ENV = "MGRDARK_DEBUG"


class OneLineUsageError(click.UsageError):
    """A usage error shown as one line, `Error: <what> (see '<command> --help')`, exit code 2.

    click prints a usage error as three lines (usage, a hint, the error); a log then reads
    differently from every other error of both CLIs.
    """

    def show(self, file=None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"Error: {self.format_message()}{hint}", file=file, err=file is None)


def one_line(e: click.UsageError) -> click.UsageError:
    """The same usage error (message, command, exit code) shown as one line."""
    if isinstance(e, (OneLineUsageError, NoArgsIsHelpError)):
        return e  # already one line, or not an error at all: the help a bare command shows
    message = e.format_message().removesuffix(".")
    if message[:2].istitle():  # "No such option" -> "no such option", like our own errors
        message = message[0].lower() + message[1:]
    out = OneLineUsageError(message, e.ctx)
    out.exit_code = e.exit_code
    return out


class MgrGroup(click.Group):
    """A click group whose errors are one line: domain errors exit with code 1, usage errors
    (unknown option, bad value, missing argument) with code 2, the Unix convention."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as e:
            raise one_line(e) from e

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise one_line(e) from e
        except MgrdarkError as e:
            if os.environ.get(DEBUG_ENV):
                raise
            raise click.ClickException(str(e)) from e
        except OSError as e:
            mapped = file_system_error(e)
            if mapped is None or os.environ.get(DEBUG_ENV):
                raise
            raise click.ClickException(str(mapped)) from e


def run_main(group: click.Group) -> None:
    """Entry point: unexpected exceptions become one line too (MGRDARK_DEBUG=1 re-raises).

    Expected OS failures (`errors.file_system_error`: read-only, not a folder, no space, no
    permission) are mapped here and in `MgrGroup.invoke`, with the same function."""
    try:
        group.main(prog_name=group.name)
    except Exception as e:  # noqa: BLE001 - the last line of defence for a CLI
        if os.environ.get(DEBUG_ENV):
            raise
        mapped = file_system_error(e) if isinstance(e, OSError) else None
        if mapped is not None:  # an expected OS failure (read-only, full disk, ...): the fix
            click.echo(f"Error: {mapped}", err=True)
            sys.exit(1)
        click.echo(
            f"Error: unexpected {type(e).__name__}: {e} "
            f"(set {DEBUG_ENV}=1 for a traceback and please report it)",
            err=True,
        )
        sys.exit(1)


def data_option(f):
    return click.option(
        "-d",
        "--data",
        "data",
        type=click.Path(file_okay=False),
        default=None,
        help=f"Dataset root (default: ${DATA_ENV}, else ./{DEFAULT_DATA_DIR}).",
    )(f)


def preset_option(default: str):
    """`--preset`: an x264 preset, checked by click against the presets x264 knows."""
    return click.option(
        "--preset",
        type=click.Choice(X264_PRESETS),
        default=default,
        show_default=True,
        help="x264 preset.",
    )


def clip_encoder_options(f):
    """`--crf` and `--preset` of the commands that cut clips (defaults: `EncoderSettings`)."""
    f = preset_option(EncoderSettings.preset)(f)
    return click.option(
        "--crf",
        type=click.IntRange(0, 51),
        default=EncoderSettings.crf,
        show_default=True,
        help="H.264 quality of rgb/ir clips (lower is better).",
    )(f)


def workers_option(what: str, default: int | None = None):
    """`--workers` of a command that runs its tasks through `--executor`: how many `what` run
    at once here, or the size of the cluster `dask-local`/`ray-local` starts."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=default,
        show_default=default is not None,
        help=f"{what} in parallel processes, or the size of a dask-local/ray-local cluster"
        + ("" if default is not None else " (default: CPU count)")
        + ".",
    )


def _executor(ctx: click.Context, param: click.Parameter, value: str) -> ExecutorSpec:
    try:
        spec = ExecutorSpec.parse(value)
    except ExecutorError as e:
        raise click.BadParameter(str(e).removeprefix(f"--executor {value!r}: ")) from e
    return require_engine(spec)  # a missing engine is an ExecutorError: exit code 1


def executor_option(f):
    """`--executor`: where the command's tasks run (`mgrdark_data.executors`)."""
    return click.option(
        "--executor",
        default="local",
        show_default=True,
        metavar="SPEC",
        callback=_executor,
        help=f"Where tasks run: {SPECS} (README, 'On a cluster').",
    )(f)


def quiet_option(f):
    return click.option("-q", "--quiet", is_flag=True, help="No progress bars.")(f)


def data_root(data: str | None) -> DataRoot:
    return DataRoot.resolve(data)


def setup_logging(quiet: bool = False) -> None:
    """Library warnings go to stderr as 'warning: ...' lines."""
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
