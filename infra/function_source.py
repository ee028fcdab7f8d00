"""The function's source, packaged for Cloud Run's build: exactly the files of function/, as a
gzipped tarball named by its content.

The same files always give the same bytes (sorted names, no times, owners or modes of the
checkout's, gzip without a timestamp), so an unchanged tree uploads nothing and builds nothing,
whatever the clone, the file times or the umask. Caches and editor leftovers are left out, both
from the archive and from the hash.
"""

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pulumi

FUNCTION_DIR = Path(__file__).resolve().parent.parent / "function"
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".venv"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo", ".swp"}


def source_files(root: Path = FUNCTION_DIR) -> dict:
    """Archive path -> file, sorted, for every file that belongs in the upload."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (path.is_file() and not _SKIPPED_DIRS.intersection(relative.parts)
                and path.suffix not in _SKIPPED_SUFFIXES and not path.name.startswith(".")):
            files[relative.as_posix()] = path
    return files


def content_hash(files: dict) -> str:
    """A hash of the names and bytes of `files`: the same tree always gives the same value."""
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def tarball(files: dict) -> bytes:
    """`files` as a .tar.gz whose bytes depend on their names and contents only."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in sorted(files.items()):
            data = path.read_bytes()
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode, entry.mtime = len(data), 0o644, 0
            tar.addfile(entry, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def function_source(root: Path = FUNCTION_DIR) -> tuple:
    """(object name, .tar.gz bytes, content hash) of the function's source."""
    files = source_files(root)
    if "main.py" not in files or "requirements.txt" not in files:
        raise pulumi.RunError(f"{root} must hold main.py and requirements.txt")
    digest = content_hash(files)
    return f"function-source-{digest[:16]}.tar.gz", tarball(files), digest
