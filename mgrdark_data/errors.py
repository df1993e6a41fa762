"""Domain exceptions. Each message tells the user what to do next.

The CLI turns any `MgrdarkError` into a one-line message and exit code 1; anything else is a
bug and is re-raised with a traceback when `MGRDARK_DEBUG=1` (docs/architecture.md, "Errors
and progress"). Kinds that one module alone raises are declared there (`SplitError`,
`ExportError`, `AlignmentTableError`); the shared ones are here.
"""

from __future__ import annotations


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


class ExecutorError(MgrdarkError):
    """An `--executor` that cannot be used: an unknown spec, its engine not installed, its
    cluster unreachable, its options malformed (`mgrdark_data.executors`)."""
