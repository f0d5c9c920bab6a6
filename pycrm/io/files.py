"""Opening output files safely: 0600, never over an existing file unless asked, never via a symlink."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


class OutputFileError(ValueError):
    """The output path cannot be written as asked."""


def open_private_output(
    path: Path, *, force: bool = False, encoding: str = "utf-8", newline: str | None = None
) -> IO[str]:
    """Open ``path`` for writing with mode 0600.

    Refuses an existing file unless ``force``, and refuses a symbolic link at ``path`` always
    (``O_NOFOLLOW``), so an export never writes through a link to somewhere else.
    """
    if path.is_symlink():
        raise OutputFileError(f"{path} is a symbolic link; refusing to write through it")
    if path.is_dir():
        raise OutputFileError(f"{path} is a directory")
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    if path.exists():
        if not force:
            raise OutputFileError(f"{path} already exists; add --force to overwrite it")
        flags |= os.O_TRUNC
    else:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror}") from exc
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding=encoding, newline=newline)
