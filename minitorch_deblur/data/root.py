"""Where datasets live, how they are checked, and how a missing one is fetched.

The data root is ``--data-dir`` if given, else ``$MINITORCH_DEBLUR_DATA``, else ``~/.cache/minitorch_deblur``.
Each dataset has its own folder under it (``mnist/``, ``cifar10/``, ``cifar10-partial/``, ``stl10/``, ``photos/``).

Every file is checked against its official MD5 the first time it is read. A passed check is remembered in a small
stamp file (keyed by path, size and modification time), so the second load does not hash the file again; any change
to the file (a new mtime or size) makes it be checked again. Downloads go to a temporary name in the same folder and
are moved into place only once their checksum matches, so a killed download never leaves a complete-looking file.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..errors import UserError

PathLike = Union[str, "os.PathLike[str]"]

ENV_DATA = "MINITORCH_DEBLUR_DATA"
ENV_OFFLINE = "MINITORCH_DEBLUR_OFFLINE"  # set to any value: never try to download
ENV_CACHE = "MINITORCH_DEBLUR_CACHE"  # where the verification stamps are kept (default: ~/.cache/minitorch_deblur)
DEFAULT_ROOT = Path("~/.cache/minitorch_deblur")
DOWNLOAD_TIMEOUT_S = 20.0


class DataError(UserError, RuntimeError):
    """Base class of every dataset problem (missing, corrupt, partial)."""


class MissingDataError(DataError, FileNotFoundError):
    """A dataset is not on disk and could not be downloaded; commands print its whole text (``offline_message``:
    each file, its checksum, the folder it goes in)."""

    listing = True


class ChecksumError(DataError):
    """A file on disk does not match its official checksum (corrupt or truncated)."""


class PartialDataError(DataError):
    """A file holds fewer records than the official one; load it only with ``allow_partial=True``."""


def data_root(data_dir: Optional[PathLike] = None) -> Path:
    """The data root: ``data_dir`` if given, else ``$MINITORCH_DEBLUR_DATA``, else ``~/.cache/minitorch_deblur``."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    return DEFAULT_ROOT.expanduser()


def dataset_dir(name: str, data_dir: Optional[PathLike] = None) -> Path:
    """``<data root>/<name>``, e.g. ``~/.cache/minitorch_deblur/mnist``."""
    return data_root(data_dir) / name


# ----------------------------------------------------------------------------------------------- checksums ----

def md5sum(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file, read in 1 MiB chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


_verified_in_process: Dict[str, Tuple[int, int, str]] = {}


def cache_dir() -> Path:
    """Where derived files are kept (verification stamps, degraded test sets): ``$MINITORCH_DEBLUR_CACHE``, else
    ``~/.cache/minitorch_deblur``."""
    base = os.environ.get(ENV_CACHE)
    return Path(base).expanduser() if base else DEFAULT_ROOT.expanduser()


def _stamp_file() -> Path:
    return cache_dir() / "verified.json"


def _file_key(path: Path) -> Tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), int(st.st_size), int(st.st_mtime_ns)


def _load_stamps() -> Dict[str, Any]:
    try:
        with open(_stamp_file(), "r", encoding="utf-8") as f:
            stamps = json.load(f)
        return stamps if isinstance(stamps, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_stamp(key: Tuple[str, int, int], md5: str) -> None:
    """Remember a passed check; silently skipped when the cache folder is not writable."""
    path = _stamp_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = _load_stamps()
        stamps[key[0]] = {"size": key[1], "mtime_ns": key[2], "md5": md5}
        fd, tmp = tempfile.mkstemp(prefix=".verified-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(stamps, f, indent=0, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass


def is_verified(path: PathLike, md5: str) -> bool:
    """True when this exact file (same size and mtime) already passed a check against ``md5``."""
    p = Path(path)
    key = _file_key(p)
    if _verified_in_process.get(key[0]) == (key[1], key[2], md5):
        return True
    entry = _load_stamps().get(key[0])
    return bool(entry) and entry.get("size") == key[1] and entry.get("mtime_ns") == key[2] and entry.get("md5") == md5


def verify_file(path: PathLike, md5: str, size: Optional[int] = None) -> Path:
    """Check a file against its expected MD5 (and size, when known) once; later calls are free until it changes.

    Raises ``MissingDataError`` if it does not exist and ``ChecksumError`` (naming the path, the expected sum and
    what was found) if it is corrupt or truncated.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingDataError(f"{p} does not exist (expected a file with md5 {md5})")
    if is_verified(p, md5):
        return p
    key = _file_key(p)
    if size is not None and key[1] != size:
        raise ChecksumError(
            f"{p} is {key[1]:,} bytes but the official file is {size:,} bytes (md5 {md5}): it is truncated or "
            "corrupt. Delete it and download or copy it again."
        )
    got = md5sum(p)
    if got != md5:
        raise ChecksumError(
            f"{p} failed its checksum: md5 {got}, expected {md5} ({key[1]:,} bytes on disk). The file is corrupt or "
            "truncated; delete it and download or copy it again."
        )
    _verified_in_process[key[0]] = (key[1], key[2], md5)
    _save_stamp(key, md5)
    return p


# ----------------------------------------------------------------------------------------------- downloads ----

def _open_url(url: str, timeout: float) -> Any:
    """Open a URL for reading (the one place that touches the network; tests replace it)."""
    from urllib.request import Request, urlopen  # noqa: PLC0415

    return urlopen(Request(url, headers={"User-Agent": "minitorch_deblur"}), timeout=timeout)


def download(urls: Sequence[str], dest: PathLike, md5: str, desc: Optional[str] = None) -> Path:
    """Fetch a file from the first mirror that works, check its MD5, then move it to ``dest``.

    The bytes go to ``dest.<random>.part`` in the same folder, and ``os.replace`` puts the file in place only after
    its checksum matched, so an interrupted or corrupt download never leaves a file named ``dest``.
    Raises ``MissingDataError`` with every mirror's failure when none delivered the right bytes.
    """
    dest = Path(dest)
    if os.environ.get(ENV_OFFLINE):
        raise MissingDataError(f"could not download {dest.name}: ${ENV_OFFLINE} is set")
    made = _missing_folders(dest.parent)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _download_into(urls, dest, md5, desc)
    finally:
        if not dest.exists():   # a failed or interrupted download leaves no folder it made behind
            for folder in made:
                try:
                    folder.rmdir()
                except OSError:  # not empty (another file of the dataset is there): keep it
                    break


def _missing_folders(folder: Path) -> List[Path]:
    """The folders that ``folder.mkdir(parents=True)`` would create, deepest first."""
    made = []
    while not folder.exists():
        made.append(folder)
        folder = folder.parent
    return made


def _download_into(urls: Sequence[str], dest: Path, md5: str, desc: Optional[str]) -> Path:
    """``download``'s mirror loop, into an existing folder."""
    failures = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            h = hashlib.md5()
            with os.fdopen(fd, "wb") as out, _open_url(url, DOWNLOAD_TIMEOUT_S) as response:
                total = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
                bar = _progress(int(total) if total else None, desc or dest.name)
                try:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        h.update(block)
                        bar.update(len(block))
                finally:
                    bar.close()
            if h.hexdigest() != md5:
                failures.append(f"{url}: md5 {h.hexdigest()}, expected {md5}")
                continue
            os.replace(tmp, dest)
            key = _file_key(dest)
            _verified_in_process[key[0]] = (key[1], key[2], md5)
            _save_stamp(key, md5)
            return dest
        except Exception as exc:  # URLError, timeouts, HTTP errors, disk full...
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
            if _looks_offline(exc):
                break  # no network at all: the other mirrors would only time out too
        finally:
            if tmp.exists():
                tmp.unlink()
    raise MissingDataError(f"could not download {dest.name}: " + "; ".join(failures))


def _looks_offline(exc: Exception) -> bool:
    """A failure to reach the host (DNS, refused, timeout), as opposed to a server answering with an HTTP error."""
    from urllib.error import HTTPError, URLError  # noqa: PLC0415

    return not isinstance(exc, HTTPError) and isinstance(exc, (URLError, TimeoutError, ConnectionError))


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: Optional[int], desc: str) -> Any:
    """A tqdm progress bar in bytes (tqdm is imported only when a download actually starts)."""
    try:
        from tqdm import tqdm  # noqa: PLC0415
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)


def fetch_files(
    folder: Path,
    files: Iterable[Tuple[str, str, Optional[int]]],
    mirrors: Sequence[str],
    dataset: str,
    download_ok: bool = True,
    hint: str = "",
) -> None:
    """Make sure every ``(name, md5, size)`` is in ``folder``, downloading what is missing from ``mirrors``.

    Offline (or with ``download_ok=False``) the error lists exactly which files to put where.
    """
    files = list(files)
    missing = [f for f in files if not (folder / f[0]).is_file()]
    if not missing:
        return
    reason = "downloading is switched off (download=False)"
    if download_ok:
        try:
            for name, md5, _ in missing:
                download([m + name for m in mirrors], folder / name, md5, desc=f"{dataset} {name}")
            return
        except (MissingDataError, OSError) as exc:
            reason = str(exc)
    raise MissingDataError(offline_message(folder, missing, mirrors, dataset, reason, hint))


def offline_message(folder: Path, missing: Sequence[Tuple[str, str, Optional[int]]], mirrors: Sequence[str],
                    dataset: str, reason: str, hint: str = "") -> str:
    """The error text for a dataset that is neither on disk nor downloadable: which files, with sums, go where."""
    lines = [f"{dataset} is not in {folder} and could not be downloaded ({reason}).",
             f"Put these files into {folder}/ (from {mirrors[0] if mirrors else 'the official site'}):"]
    for name, md5, size in missing:
        lines.append(f"  {name}  md5 {md5}" + (f"  {size:,} bytes" if size else ""))
    lines.append(f"or choose another data root with --data-dir DIR or ${ENV_DATA}=DIR (the files then go in "
                 f"DIR/{folder.name}/).")
    if hint:
        lines.append(hint)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ archives ----

MANIFEST = ".md5-from-archive.json"


def extract_members(archive: PathLike, dest: PathLike, members: Dict[str, Optional[str]]) -> Dict[str, str]:
    """Extract the named members of a (verified) tar archive into ``dest`` in one pass, checking each one.

    ``members`` maps a member name (``"stl10_binary/train_X.bin"``) to its official MD5, or None where no official
    per-member sum exists (then the archive's own checksum vouches for it). Each member is written to a temporary
    name, hashed on the way, and moved into place only if it matches. The sums of the members extracted are
    recorded in ``<folder>/.md5-from-archive.json`` so later reads of those files can be checked against them.
    Returns {member name: md5}.
    """
    import tarfile  # noqa: PLC0415

    archive, dest = Path(archive), Path(dest)
    got: Dict[str, str] = {}
    with tarfile.open(archive, "r:*") as tar:
        for info in tar:
            if info.name not in members or not info.isfile():
                continue
            target = dest / info.name
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
            try:
                h = hashlib.md5()
                src = tar.extractfile(info)
                with os.fdopen(fd, "wb") as out:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        out.write(block)
                        h.update(block)
                want = members[info.name]
                if want is not None and h.hexdigest() != want:
                    raise ChecksumError(f"{archive} member {info.name} has md5 {h.hexdigest()}, expected {want}: the "
                                        "archive is corrupt; delete it and download it again")
                os.replace(tmp_name, target)
                got[info.name] = h.hexdigest()
            finally:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
    missing = sorted(set(members) - set(got))
    if missing:
        raise DataError(f"{archive} does not contain {', '.join(missing)}; delete it and download it again")
    by_folder: Dict[Path, Dict[str, str]] = {}
    for name, md5 in got.items():
        by_folder.setdefault((dest / name).parent, {})[Path(name).name] = md5
    for folder, sums in by_folder.items():
        recorded = read_manifest(folder)
        recorded.update(sums)
        (folder / MANIFEST).write_text(json.dumps({"archive": archive.name, "md5": recorded}, indent=1),
                                       encoding="utf-8")
    return got


def read_manifest(folder: PathLike) -> Dict[str, str]:
    """{file name: md5} recorded when the files of ``folder`` were extracted from a verified archive ({} if none)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        return dict(data.get("md5", {}))
    except (OSError, ValueError, AttributeError):
        return {}
