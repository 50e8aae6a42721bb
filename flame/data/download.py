"""`flame data download`: rebuild a data root from each file's upstream repository at its pinned commit.

Every file of the shared data copy has a pin in `flame.data.upstream` (generated from the copy's
checksums by tools/make_upstream_pins.py): repository, commit, path, the conversions the copy applied, and
what the result must hash to. A file is fetched from ``{mirror}/{repo}/{commit}/{path}`` (default mirror
raw.githubusercontent.com) into ``NAME.part`` next to its destination, resumed with an HTTP Range request
when a part is there, converted, verified, and only then moved into place.

What "verified" means, per kind of file:
- plain files: the sha256 of the bytes written equals the copy's (SHA256SUMS);
- files the copy gzipped (text > 1 MiB, the tar members): the sha256 of the *content* equals
  SHA256SUMS.content. We compress it again ourselves, and our gzip header (mtime 0, no name) differs from
  the copy's, so the .gz bytes are not those of SHA256SUMS; what they decompress to is;
- upstream files that were already gzipped (hh_rlhf, openai_moderation): kept as downloaded, verified by
  their stored sha256 or, failing that, their decompressed content;
- the one spreadsheet (tulu1_human_eval, xlsx → csv): a csv written from a spreadsheet cannot be byte for
  byte the copy's (number and date formatting belong to the writer), so the parsed rows are verified
  instead: their count, and `rows_digest` of header + rows, computed from the copy's csv into the pin.

A file already present and verified is never fetched nor rewritten; one that fails is reported on one line
and leaves whatever was there untouched.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flame.errors import CliError, FlameError

DEFAULT_MIRROR = "https://raw.githubusercontent.com"
MIRROR_ENV = "FLAME_DATA_MIRROR"


class DownloadError(FlameError):
    """One file could not be fetched, converted or verified; the message says which step and why."""


class TransferError(DownloadError):
    """The connection failed mid-way: the partial download is kept, and the next run resumes it."""


@dataclass(frozen=True)
class Outcome:
    stored: str  # folder/name under the data root
    status: str  # "present" (verified, left alone), "fetched" (downloaded and verified) or "failed"
    detail: str = ""  # why it failed; how it was verified otherwise


# ------------------------------------------------------------------------------------------ checks


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_INTEGRAL = re.compile(r"-?\d+\.0+")


def _cell(value: str) -> str:
    # A spreadsheet reader sees 3 where a csv writer may have written "3.0", and an empty cell where a
    # dataframe wrote "nan"'s empty string; both sides go through this before hashing.
    return value[: value.index(".")] if _INTEGRAL.fullmatch(value) else value


def rows_digest(rows: Iterable[Sequence[str]]) -> str:
    """sha256 of a table's rows (header included), insensitive to how a writer formats integral numbers
    and to trailing empty cells; the check for files that a conversion cannot reproduce byte for byte."""
    canonical = []
    for row in rows:
        cells = [_cell(c) for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        canonical.append(cells)
    return sha256(json.dumps(canonical, ensure_ascii=False).encode("utf-8"))


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def content_problem(pin, content: bytes) -> str | None:
    """Why `content` (the stored file before our gzip step) is not what the pin promises; None if it is."""
    if pin.rows_sha256 is not None:
        rows = _csv_rows(content)
        if len(rows) - 1 != pin.rows or rows_digest(rows) != pin.rows_sha256:
            return (
                f"rows differ: {len(rows) - 1} rows (want {pin.rows}), rows digest {rows_digest(rows)[:12]}"
            )
        return None
    if "gzip" in pin.steps:
        got = sha256(content)
        return (
            None
            if got == pin.content_sha256
            else f"content sha256 {got[:12]}, want {pin.content_sha256[:12]}"
        )
    got = sha256(content)
    if got == pin.sha256:
        return None
    if pin.content_sha256 is not None:  # an upstream .gz kept as is: its header may differ, its content not
        try:
            if sha256(gzip.decompress(content)) == pin.content_sha256:
                return None
        except (OSError, EOFError):
            return f"sha256 {got[:12]}, want {pin.sha256[:12]}, and not a gzip file"
    return f"sha256 {got[:12]}, want {pin.sha256[:12]}"


def verified_on_disk(pin, path: Path) -> bool:
    """Whether the file at `path` is the pinned one: its stored sha256, or its decompressed content."""
    if not path.is_file():
        return False
    data = path.read_bytes()
    if sha256(data) == pin.sha256:
        return True
    if not pin.stored.endswith(".gz"):
        return False
    try:
        content = gzip.decompress(data)
    except (OSError, EOFError):
        return False
    if pin.rows_sha256 is None and "gzip" not in pin.steps:
        return sha256(content) == pin.content_sha256
    return content_problem(pin, content) is None


# ------------------------------------------------------------------------------------------ conversions


def untar_member(raw: bytes, member: str) -> bytes:
    """The regular file of a (gzipped) tar archive whose base name is `member`."""
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            found = [m for m in tar.getmembers() if m.isfile() and Path(m.name).name == member]
            if len(found) != 1:
                names = [m.name for m in tar.getmembers() if m.isfile()][:5]
                raise DownloadError(f"{len(found)} members named {member} in the archive (it has {names})")
            return tar.extractfile(found[0]).read()
    except tarfile.TarError as e:
        raise DownloadError(f"not a readable tar archive: {e}") from e


def drop_wmt_metadata(data: bytes) -> bytes:
    """The side-by-side MQM tsv without its `#` comment line and its trailing `metadata` column (a JSON
    blob per row that the copy dropped). Split on tabs with no quoting, as the file is meant to be read."""
    out = []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"#"):
            continue
        body = line.rstrip(b"\r\n")
        out.append(body.rsplit(b"\t", 1)[0] + line[len(body) :])
    return b"".join(out)


def _xlsx_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)  # a datetime prints as "2023-05-19 13:11:45", as the copy's csv has it


def xlsx_to_csv(raw: bytes) -> bytes:
    """The first sheet of a workbook as csv (every column kept). Needs openpyxl."""
    try:
        import openpyxl
    except ImportError as e:
        raise DownloadError("xlsx conversion needs openpyxl (pip install openpyxl)") from e
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several kinds for a file that is no workbook
        raise DownloadError(f"not a readable xlsx workbook: {e}") from e
    rows = [[_xlsx_value(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    while rows and not any(rows[-1]):  # sheets often report formatted but empty rows at the end
        rows.pop()
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def convert(pin, raw: bytes) -> bytes:
    """The stored file's content (before the gzip step) from the upstream bytes."""
    data = raw
    for step in pin.steps:
        if step == "untar":
            data = untar_member(data, pin.member)
        elif step == "drop_wmt_metadata":
            data = drop_wmt_metadata(data)
        elif step == "xlsx_to_csv":
            data = xlsx_to_csv(data)
        elif step != "gzip":
            raise DownloadError(f"unknown conversion step {step!r}")
    return data


def stored_bytes(pin, content: bytes) -> bytes:
    # mtime=0: the same content always gives the same .gz bytes, whatever day it was downloaded.
    return gzip.compress(content, compresslevel=6, mtime=0) if "gzip" in pin.steps else content


# ------------------------------------------------------------------------------------------ fetching


def upstream_url(pin, mirror: str = DEFAULT_MIRROR) -> str:
    return f"{mirror.rstrip('/')}/{pin.repo}/{pin.commit}/{quote(pin.path, safe='/')}"


def fetch(client, url: str, part: Path, advance: Callable[[int], None] = lambda n: None) -> None:
    """Download `url` into `part`, continuing from its current size with a Range request when it exists.

    A server that ignores the range (200) gets the file written from the start; 416 (range past the end)
    means the part already holds the whole file. A broken connection leaves the part for the next try.
    """
    import httpx

    have = part.stat().st_size if part.is_file() else 0
    # identity: a range counts bytes of the file itself, not of a compressed transfer of it.
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    try:
        with client.stream("GET", url, headers=headers) as r:
            if r.status_code == 416 and have:
                return
            if r.status_code == 206 and have:
                start = re.match(r"bytes (\d+)-", r.headers.get("content-range", ""))
                if start is None or int(start[1]) != have:
                    raise DownloadError(
                        f"server resumed at {r.headers.get('content-range')!r}, not byte {have}"
                    )
                mode = "ab"
            elif r.status_code == 200:
                mode = "wb"
            else:
                raise DownloadError(f"HTTP {r.status_code} for {url}")
            if r.headers.get("content-encoding", "identity") != "identity":
                raise DownloadError(
                    f"{url} came {r.headers['content-encoding']}-encoded although identity was asked"
                )
            part.parent.mkdir(parents=True, exist_ok=True)
            with part.open(mode) as f:
                for chunk in r.iter_raw():  # as it arrives: a broken connection loses nothing received
                    f.write(chunk)
                    advance(len(chunk))
    except httpx.HTTPError as e:
        raise TransferError(f"{type(e).__name__} for {url}: {e} (the partial download is kept)") from e


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _how_verified(pin) -> str:
    if pin.rows_sha256 is not None:
        return f"{pin.rows} rows verified"
    return "content sha256 verified" if "gzip" in pin.steps else "sha256 verified"


def download_one(pin, root: Path, client, mirror: str, advance: Callable[[int], None]) -> Outcome:
    """Fetch, convert, verify and write one pinned file; never raises for a problem with that file."""
    path = root / pin.stored
    if verified_on_disk(pin, path):
        return Outcome(pin.stored, "present", _how_verified(pin))
    part = path.with_name(path.name + ".part")
    url = upstream_url(pin, mirror)
    resumed = part.is_file() and part.stat().st_size > 0
    for _attempt in ("resume", "fresh") if resumed else ("fresh",):
        try:
            fetch(client, url, part, advance)
            content = convert(pin, part.read_bytes())
            problem = content_problem(pin, content)
        except TransferError as e:
            return Outcome(pin.stored, "failed", str(e))
        except DownloadError as e:
            problem = str(e)
        if problem is None:
            _write_atomically(path, stored_bytes(pin, content))
            part.unlink()
            return Outcome(pin.stored, "fetched", _how_verified(pin))
        part.unlink(missing_ok=True)  # a bad part must not be resumed; a resumed one gets one fresh try
    return Outcome(pin.stored, "failed", f"{problem} ({url})")


def download(
    pins: Sequence,
    root: Path,
    *,
    mirror: str | None = None,
    client=None,
    show_progress: bool = True,
) -> list[Outcome]:
    """Download every pin into `root`; one Outcome per pin, in order. `mirror` defaults to FLAME_DATA_MIRROR,
    else raw.githubusercontent.com."""
    try:
        import httpx
    except ImportError as e:  # an optional dependency in this package's extras
        raise CliError("downloading needs httpx: pip install 'flame-autorater[api]'") from e
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from flame import __version__

    mirror = mirror or os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR
    root.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    if own_client:
        client = httpx.Client(
            follow_redirects=True,
            timeout=httpx.Timeout(60.0, connect=15.0),
            headers={"User-Agent": f"flame-autorater/{__version__}"},
        )
    outcomes = []
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=not show_progress or not console.is_terminal,  # no bar frames in logs and pipes
    )
    try:
        with progress:
            files = progress.add_task(f"{len(pins)} files", total=len(pins))
            for pin in pins:
                task = progress.add_task(pin.stored, total=None)
                outcome = download_one(pin, root, client, mirror, lambda n, t=task: progress.advance(t, n))
                outcomes.append(outcome)
                progress.remove_task(task)
                progress.advance(files)
    finally:
        if own_client:
            client.close()
    return outcomes


# ------------------------------------------------------------------------------------------ command line


def select_pins(datasets: Sequence[str]):
    """The pins of the named dataset folders (all when none is named); an unknown name suggests close ones."""
    from flame.data.upstream import PINS

    if not datasets:
        return PINS
    folders = sorted({p.stored.split("/")[0] for p in PINS})
    for name in datasets:
        if name not in folders:
            close = difflib.get_close_matches(name, folders, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(folders)}"
            raise CliError(f"no dataset named {name!r}{hint}")
    return tuple(p for p in PINS if p.stored.split("/")[0] in datasets)


def download_root(explicit: str | None) -> Path:
    """--root, else FLAME_DATA_DIR (created if missing), else the data root `flame` already finds."""
    from flame.data.paths import DataRootError, data_root

    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("FLAME_DATA_DIR"):
        return Path(os.environ["FLAME_DATA_DIR"]).expanduser()
    try:
        return data_root()
    except DataRootError as e:
        raise CliError(
            "no data root to download into: pass --root DIR, or set FLAME_DATA_DIR=DIR "
            "(every flame command reads the data from there)"
        ) from e


def add_download_parser(data_subparsers) -> None:
    p = data_subparsers.add_parser(
        "download",
        help="fetch every dataset file from its upstream repository at the pinned commit, verified",
        description="Fetch the human-judgment datasets from their upstream GitHub repositories at pinned "
        "commits into the data root, verify each file's sha256 (its content's for files gzipped here, its "
        "parsed rows for the xlsx converted to csv), resume partial downloads, and skip verified files.",
    )
    p.add_argument("datasets", nargs="*", help="dataset folders to fetch (default: all)")
    p.add_argument(
        "--root", help="the data root to write (default: FLAME_DATA_DIR, else the one flame finds)"
    )
    p.add_argument(
        "--mirror",
        default=None,
        help=f"base URL serving {{repo}}/{{commit}}/{{path}} (default: ${MIRROR_ENV}, else {DEFAULT_MIRROR})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_data_download)


def cmd_data_download(args) -> int:
    pins = select_pins(args.datasets)
    root = download_root(args.root)
    outcomes = download(pins, root, mirror=args.mirror, show_progress=not args.no_progress)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"FAILED {o.stored}: {o.detail}")
    present = sum(o.status == "present" for o in outcomes)
    fetched = sum(o.status == "fetched" for o in outcomes)
    print(
        f"{root}: {fetched} fetched, {present} already verified, {len(failed)} failed of {len(outcomes)} files"
    )
    if not failed and os.environ.get("FLAME_DATA_DIR") is None and args.root:
        print(f"use it with: export FLAME_DATA_DIR={root.resolve()}")
    return 1 if failed else 0
