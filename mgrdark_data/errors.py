"""Domain exceptions. Each message tells the user what to do next.

The CLI turns any `MgrdarkError` into a one-line message and exit code 1; anything else is a
bug and is re-raised with a traceback when `MGRDARK_DEBUG=1` (docs/architecture.md, "Errors
and progress"). Kinds that one module alone raises are declared there (`SplitError`,
`ExportError`, `AlignmentTableError`); the shared ones are here.
"""

from __future__ import annotations

import errno


class MgrdarkError(Exception):
    """Base class for every error a user can cause and fix."""


class AnnotationError(MgrdarkError):
    """The annotation CSV as a whole cannot be read (a bad *row* is a reject, not an error)."""


class RecordingError(MgrdarkError):
    """A raw recording is missing a required stream or a stream cannot be decoded."""


class MediaError(MgrdarkError):
    """A media file cannot be opened, decoded or written."""


class ManifestError(MgrdarkError):
    """A manifest or split file does not match its schema."""


class VocabularyError(MgrdarkError):
    """The class vocabulary file is malformed."""


class StatsError(MgrdarkError):
    """Brightness statistics cannot be computed or stored (no videos, unreadable output table)."""


class OutputError(MgrdarkError):
    """A file or folder cannot be written where it was asked for (a path below a file, no
    permission, a read-only file system)."""


class OptionError(MgrdarkError, ValueError):
    """An option or argument value the library cannot use (an unknown x264 preset, a scale
    that is not positive). Also a ValueError, for callers of the Python API."""


class AlignmentError(MgrdarkError, ValueError):
    """Frames given to the IR alignment estimator cannot be used (no pairs, frames of
    different sizes, IR frames too small for the scales searched)."""


class FileSystemError(OutputError):
    """The operating system refused a file operation for a reason the user can fix: a
    read-only file system, a file where a folder should be, a full disk, no permission."""


_OS_ADVICE = {
    errno.EROFS: "read-only file system; write to a writable place (-d DIR, --out FILE)",
    errno.ENOTDIR: "a part of this path is a file, not a folder; choose another path",
    errno.EISDIR: "this is a folder, not a file; choose a file name",
    errno.ENOSPC: "no space left on the device; free some or write elsewhere, then run the "
    "command again (finished files are kept)",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere, then run the "
    "command again (finished files are kept)",
    errno.EACCES: "permission denied; fix the permissions or choose another path",
    errno.EPERM: "operation not permitted; fix the permissions or choose another path",
    errno.ENAMETOOLONG: "file name too long; choose a shorter path",
}
"""What to do about each expected OS failure, by errno."""


def os_error_advice(e: OSError) -> str | None:
    """'<what>; <what to do>' for an expected OS failure, None for any other."""
    return _OS_ADVICE.get(e.errno) if isinstance(e.errno, int) else None


OUTPUT_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
"""OS failures that stop the run (the data root cannot take clips) instead of failing clips:
the CLI reports them as one line (`file_system_error`), and a re-run resumes. A task that
raises one is not retried on another worker either (`mgrdark_data.executors`)."""


def cannot_write(e: BaseException) -> bool:
    """Whether `e` says the output cannot be written at all (`OUTPUT_FAILURES`)."""
    return isinstance(e, OSError) and e.errno in OUTPUT_FAILURES


def file_system_error(e: OSError) -> FileSystemError | None:
    """The one-line error for an expected OS failure (None: unexpected, a bug to report)."""
    advice = os_error_advice(e)
    if advice is None:
        return None
    where = e.filename if e.filename is not None else None
    if e.filename2 is not None:
        where = f"{e.filename} -> {e.filename2}"
    return FileSystemError(f"{where}: {advice}" if where else advice)


class ExecutorError(MgrdarkError):
    """An `--executor` that cannot be used: an unknown spec, its engine not installed, its
    cluster unreachable, its options malformed (`mgrdark_data.executors`)."""
