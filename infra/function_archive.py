"""The function's source, packaged for upload: exactly the files of function/, named by content.

The object name carries a hash of the files, so that any change to the code uploads a new object
and redeploys the function, while an unchanged tree changes nothing. Caches and editor leftovers
are left out, both from the archive and from the hash.
"""

import hashlib
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


def function_archive(root: Path = FUNCTION_DIR) -> tuple:
    """(object name, archive) for the function's source."""
    files = source_files(root)
    if "main.py" not in files or "requirements.txt" not in files:
        raise pulumi.RunError(f"{root} must hold main.py and requirements.txt")
    archive = pulumi.AssetArchive({name: pulumi.FileAsset(str(path))
                                   for name, path in files.items()})
    return f"function-source-{content_hash(files)[:16]}.zip", archive
