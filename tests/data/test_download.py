"""`flame data download` against a loopback HTTP server that serves upstream-shaped files.

Real pins are checked with real files of the shared copy (served as upstream has them: decompressed where we
gzipped, inside a tar where the copy extracted a member, with the metadata column the copy dropped); the
conversions and the failure paths with small fixtures made here and a test table of pins.
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flame.data import download as dl
from flame.data import upstream
from flame.data.upstream import PINS, Pin
from flame.errors import CliError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def needs_shared(test):
    """Reads the shared data copy: marked `data`, and skipped where there is none."""
    present = (SHARED / "SHA256SUMS").is_file()
    return pytest.mark.data(pytest.mark.skipif(not present, reason="no shared data copy here")(test))


COMMIT = "0" * 40
STEPS = {"untar", "drop_wmt_metadata", "xlsx_to_csv", "gzip"}


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with `Range: bytes=N-` support; every request is logged on the server."""

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        # A connection that breaks after `cut` bytes, once: what a flaky network does to a long download.
        cut = self.server.cut.pop(self.path, None)
        self.wfile.write(data[start:] if cut is None else data[start : start + cut])


@pytest.fixture
def mirror(tmp_path):
    """(base URL, served folder, server) of a loopback server; put files at served/repo/commit/path. The
    server logs (path, Range) in `server.requests`; `server.cut[path] = n` breaks one answer after n bytes."""
    served = tmp_path / "mirror"
    served.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(served)))
    server.requests, server.cut = [], {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served, server
    server.shutdown()
    server.server_close()


def serve(served: Path, pin: Pin, data: bytes) -> None:
    target = served / pin.repo / pin.commit / pin.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def pin_for(stored: str, path: str, stored_bytes: bytes, content: bytes | None = None, **kw) -> Pin:
    """A test pin whose checksums are those of the bytes given (content: what a .gz decompresses to)."""
    return Pin(
        stored=stored,
        repo="test/repo",
        commit=COMMIT,
        path=path,
        member=kw.pop("member", None),
        steps=kw.pop("steps", ()),
        sha256=dl.sha256(stored_bytes),
        content_sha256=None if content is None else dl.sha256(content),
        **kw,
    )


def run(pins, root, url):
    return {o.stored: o for o in dl.download(pins, root, mirror=url, show_progress=False)}


# ------------------------------------------------------------------------------------------ the table


def test_pins_are_well_formed():
    assert len({p.stored for p in PINS}) == len(PINS)
    for p in PINS:
        assert len(p.commit) == 40 and int(p.commit, 16) >= 0, p
        assert set(p.steps) <= STEPS, p
        assert ("untar" in p.steps) == (p.member is not None), p
        assert (p.content_sha256 is not None) == p.stored.endswith(".gz"), p
        assert ("gzip" in p.steps) or not p.stored.endswith(".gz") or p.path.endswith(".gz"), p
        assert (p.rows is not None) == ("xlsx_to_csv" in p.steps), p


@needs_shared
def test_pins_cover_every_line_of_the_shared_checksums():
    stored = dict(reversed(line.split()) for line in (SHARED / "SHA256SUMS").read_text().splitlines() if line)
    content = dict(
        reversed(line.split()) for line in (SHARED / "SHA256SUMS.content").read_text().splitlines() if line
    )
    assert len(stored) == 142
    assert {p.stored: p.sha256 for p in PINS} == stored
    assert {p.stored[:-3]: p.content_sha256 for p in PINS if p.content_sha256} == content


@needs_shared
def test_the_generator_reproduces_the_table(tmp_path):
    """The table in the package is what tools/make_upstream_pins.py makes from the shared copy."""
    out = tmp_path / "upstream.py"
    script = Path(__file__).resolve().parents[2] / "tools" / "make_upstream_pins.py"
    subprocess.run([sys.executable, str(script), "--data", str(SHARED), "--out", str(out)], check=True)
    assert out.read_text() == Path(upstream.__file__).read_text()


@needs_shared
def test_the_shared_copy_verifies_in_place():
    """Every stored file passes the check that decides 'already present', so a download into the shared
    folder fetches nothing (the tulu csv through its rows, since that is what the pin holds for it)."""
    assert all(dl.verified_on_disk(p, SHARED / p.stored) for p in PINS)


# ------------------------------------------------------------------------------------------ real pins


def upstream_shaped(pin: Pin, stored: bytes) -> bytes:
    """What upstream serves for a pin, made from the stored file: decompressed where the copy gzipped it,
    with the `#` line and `metadata` column the copy dropped, inside a tar where it extracted a member, and
    back in a workbook where it was converted to csv."""
    data = gzip.decompress(stored) if "gzip" in pin.steps else stored
    if "xlsx_to_csv" in pin.steps:
        import openpyxl

        book = openpyxl.Workbook()
        for row in dl._csv_rows(data):
            book.active.append(row)
        buf = io.BytesIO()
        book.save(buf)
        data = buf.getvalue()
    if "drop_wmt_metadata" in pin.steps:
        header, *rows = data.decode("utf-8").splitlines(keepends=True)
        rows = [header.replace("\n", "\tmetadata\n")] + [r.replace("\n", '\t{"segment": 1}\n') for r in rows]
        data = ("# generated by the MQM tooling\n" + "".join(rows)).encode("utf-8")
    if "untar" in pin.steps:
        data = tar_gz({f"some-dir/{pin.member}": data, "some-dir/README": b"other member"})
    return data


def assert_same_as_shared(pin: Pin, root: Path) -> None:
    written, shared = (root / pin.stored).read_bytes(), (SHARED / pin.stored).read_bytes()
    if pin.rows is not None:
        assert dl.rows_digest(dl._csv_rows(gzip.decompress(written))) == pin.rows_sha256
    elif pin.stored.endswith(".gz"):
        assert gzip.decompress(written) == gzip.decompress(shared), pin.stored
    else:
        assert written == shared, pin.stored


@needs_shared
def test_real_pins_download_from_upstream_shaped_files(mirror, tmp_path):
    url, served, server = mirror
    by_name = {p.stored: p for p in PINS}
    chosen = [
        "felm/felm_math.jsonl",  # plain, renamed upstream (data/test/math.jsonl)
        "llmeval2_llmbar_processed/llmeval2_pairs.json",  # '^' in the upstream path
        "qags/qags_xsum.json.gz",  # gzipped by the copy
        "openai_moderation/samples-1680.jsonl.gz",  # gzipped upstream, kept as is
        "mlqe_pe_da/dev.ende.df.short.tsv.gz",  # a tar member
        "wmt_mqm/sxs_mqm_generalMT2023_zhen.3ratingsPerSegment.no_metadata.tsv.gz",  # tar + column drop
    ]
    pins = [by_name[n] for n in chosen]
    for p in pins:
        serve(served, p, upstream_shaped(p, (SHARED / p.stored).read_bytes()))
    root = tmp_path / "root"
    outcomes = run(pins, root, url)
    assert {n: o.status for n, o in outcomes.items()} == dict.fromkeys(chosen, "fetched")
    for p in pins:
        assert_same_as_shared(p, root)
    assert not list(root.rglob("*.part"))
    paths = "".join(r[0] for r in server.requests)
    assert "/princeton-nlp/LLMBar/" in paths and "/LLMEval%5E2/" in paths


@needs_shared
@pytest.mark.slow
def test_a_whole_data_root_is_rebuilt_from_a_mirror(mirror, tmp_path):
    """Every pin (the xlsx one only with openpyxl) from an upstream-shaped mirror of the shared copy: the
    rebuilt root matches SHA256SUMS byte for byte where nothing is gzipped here, SHA256SUMS.content after
    decompression where it is, and the pinned rows for the spreadsheet."""
    url, served, _ = mirror
    try:
        import openpyxl  # noqa: F401

        pins = PINS
    except ImportError:
        pins = tuple(p for p in PINS if p.rows is None)
    for p in pins:
        serve(served, p, upstream_shaped(p, (SHARED / p.stored).read_bytes()))
    root = tmp_path / "root"
    outcomes = run(pins, root, url)
    assert [o for o in outcomes.values() if o.status != "fetched"] == []
    for p in pins:
        assert_same_as_shared(p, root)
    assert all(o.status == "present" for o in run(pins, root, url).values())


# ------------------------------------------------------------------------------------------ conversions


def test_gzip_tar_member_and_metadata_drop_fixtures(mirror, tmp_path):
    url, served, _ = mirror
    text = b'{"a": 1}\n{"a": 2}\n'
    tsv = b"system\tsource\ttarget\n" + b"sysA\tsrc\ttgt\n"
    upstream_tsv = b"# comment\nsystem\tsource\ttarget\tmetadata\nsysA\tsrc\ttgt\t{}\n"
    pins = [
        pin_for("fix/plain.json.gz", "data/plain.json", gzip.compress(text), text, steps=("gzip",)),
        pin_for(
            "fix/member.tsv.gz",
            "data/en-de-dev.tar.gz",
            gzip.compress(tsv),
            tsv,
            member="dev.ende.tsv",
            steps=("untar", "gzip"),
        ),
        pin_for(
            "fix/sxs.tsv.gz",
            "data/sxs.tsv.tar.gz",
            gzip.compress(tsv),
            tsv,
            member="sxs.tsv",
            steps=("untar", "drop_wmt_metadata", "gzip"),
        ),
    ]
    serve(served, pins[0], text)
    serve(served, pins[1], tar_gz({"en-de/dev.ende.tsv": tsv, "en-de/dev.ende.mt": b"x"}))
    serve(served, pins[2], tar_gz({"sxs.tsv": upstream_tsv}))
    outcomes = run(pins, tmp_path / "root", url)
    assert [o.status for o in outcomes.values()] == ["fetched"] * 3
    assert outcomes["fix/plain.json.gz"].detail == "content sha256 verified"
    assert gzip.decompress((tmp_path / "root/fix/plain.json.gz").read_bytes()) == text
    assert gzip.decompress((tmp_path / "root/fix/member.tsv.gz").read_bytes()) == tsv
    assert gzip.decompress((tmp_path / "root/fix/sxs.tsv.gz").read_bytes()) == tsv


def test_xlsx_to_csv_verifies_rows_not_bytes(mirror, tmp_path):
    openpyxl = pytest.importorskip(
        "openpyxl", reason="openpyxl is not installed: the xlsx conversion is untested"
    )
    url, served, _ = mirror
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [
        ["id", "prompt", "score", "note"],
        [1, "Say hi.\n", 3.0, None],
        [2, 'a "quoted", text', 4, "x"],
    ]:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    # What the copy's writer (a dataframe) might have produced: 3.0 kept as such, other quoting.
    copy_csv = b'id,prompt,score,note\n1,"Say hi.\n",3.0,\n2,"a ""quoted"", text",4,x\n'
    rows = dl._csv_rows(copy_csv)
    pin = pin_for(
        "fix/sheet.csv.gz",
        "data/sheet.xlsx",
        gzip.compress(copy_csv),
        copy_csv,
        steps=("xlsx_to_csv", "gzip"),
        rows=len(rows) - 1,
        rows_sha256=dl.rows_digest(rows),
    )
    serve(served, pin, buf.getvalue())
    outcome = run([pin], tmp_path / "root", url)[pin.stored]
    assert (outcome.status, outcome.detail) == ("fetched", "2 rows verified")
    assert dl.verified_on_disk(pin, tmp_path / "root" / pin.stored)


def test_without_openpyxl_the_xlsx_file_fails_with_the_reason(mirror, tmp_path, monkeypatch):
    url, served, _ = mirror
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now raises ImportError
    pin = pin_for("fix/s.csv.gz", "s.xlsx", b"", b"", steps=("xlsx_to_csv", "gzip"), rows=0, rows_sha256="0")
    serve(served, pin, b"PK not really a workbook")
    outcome = run([pin], tmp_path / "root", url)[pin.stored]
    assert outcome.status == "failed" and "needs openpyxl" in outcome.detail
    assert not (tmp_path / "root" / pin.stored).exists()


def test_rows_digest_ignores_number_formatting_and_trailing_empty_cells():
    assert dl.rows_digest([["a", "3.0", ""]]) == dl.rows_digest([["a", "3"]])
    assert dl.rows_digest([["a", "3.5"]]) != dl.rows_digest([["a", "3"]])
    assert dl.rows_digest([["a", "", "b"]]) != dl.rows_digest([["a", "b"]])


def test_drop_wmt_metadata_keeps_line_endings():
    assert dl.drop_wmt_metadata(b"#c\r\na\tb\tm\r\nc\td\t\r\n") == b"a\tb\r\nc\td\r\n"


# ------------------------------------------------------------------------------------------ failures, resume


def test_a_corrupted_file_is_refused_and_verified_files_are_left_alone(mirror, tmp_path):
    url, served, server = mirror
    requests = server.requests
    good, bad = b"good file\n", b"what upstream should have\n"
    pins = [pin_for("fix/good.txt", "good.txt", good), pin_for("fix/bad.txt", "bad.txt", bad)]
    root = tmp_path / "root"
    (root / "fix").mkdir(parents=True)
    (root / "fix/good.txt").write_bytes(good)
    (root / "fix/bad.txt").write_bytes(b"an older unverified copy\n")
    before = (root / "fix/good.txt").stat().st_mtime_ns
    serve(served, pins[0], good)
    serve(served, pins[1], b"corrupted on the way\n")
    outcomes = run(pins, root, url)
    assert outcomes["fix/good.txt"].status == "present"
    assert outcomes["fix/bad.txt"].status == "failed"
    assert "sha256" in outcomes["fix/bad.txt"].detail and url in outcomes["fix/bad.txt"].detail
    assert (root / "fix/good.txt").stat().st_mtime_ns == before
    assert (root / "fix/bad.txt").read_bytes() == b"an older unverified copy\n"  # not replaced by a bad one
    assert not (root / "fix/bad.txt.part").exists()  # and not resumed next time
    assert [r[0] for r in requests] == [f"/test/repo/{COMMIT}/bad.txt"]


def test_a_partial_download_resumes_with_range(mirror, tmp_path):
    url, served, server = mirror
    requests = server.requests
    data = bytes(range(256)) * 1000
    pin = pin_for("fix/big.bin", "big.bin", data)
    serve(served, pin, data)
    root = tmp_path / "root"
    (root / "fix").mkdir(parents=True)
    (root / "fix/big.bin.part").write_bytes(data[:100_000])
    assert run([pin], root, url)[pin.stored].status == "fetched"
    assert (root / "fix/big.bin").read_bytes() == data
    assert requests == [(f"/test/repo/{COMMIT}/big.bin", "bytes=100000-")]
    assert not (root / "fix/big.bin.part").exists()


def test_a_broken_connection_keeps_the_part_and_the_next_run_resumes_it(mirror, tmp_path):
    url, served, server = mirror
    data = b"abcdefghij" * 5000
    pin = pin_for("fix/flaky.bin", "flaky.bin", data)
    serve(served, pin, data)
    server.cut[f"/test/repo/{COMMIT}/flaky.bin"] = 20_000
    root = tmp_path / "root"
    first = run([pin], root, url)[pin.stored]
    assert first.status == "failed" and "partial download is kept" in first.detail
    assert (root / "fix/flaky.bin.part").stat().st_size == 20_000
    assert not (root / "fix/flaky.bin").exists()
    assert run([pin], root, url)[pin.stored].status == "fetched"
    assert (root / "fix/flaky.bin").read_bytes() == data
    assert [r[1] for r in server.requests] == [None, "bytes=20000-"]


def test_a_complete_part_is_used_and_a_bad_part_is_fetched_again(mirror, tmp_path):
    url, served, server = mirror
    requests = server.requests
    data = b"0123456789" * 100
    pins = [pin_for("fix/done.bin", "done.bin", data), pin_for("fix/wrong.bin", "wrong.bin", data)]
    for p in pins:
        serve(served, p, data)
    root = tmp_path / "root"
    (root / "fix").mkdir(parents=True)
    (root / "fix/done.bin.part").write_bytes(data)  # the range is past the end: 416, nothing to add
    (root / "fix/wrong.bin.part").write_bytes(b"X" * 500)  # resumes, fails the check, then starts over
    outcomes = run(pins, root, url)
    assert [o.status for o in outcomes.values()] == ["fetched", "fetched"]
    assert (root / "fix/wrong.bin").read_bytes() == data
    assert [r[1] for r in requests] == ["bytes=1000-", "bytes=500-", None]


def test_a_missing_upstream_file_is_reported(mirror, tmp_path):
    url, _, _ = mirror
    outcome = run([pin_for("fix/gone.txt", "gone.txt", b"x")], tmp_path / "root", url)["fix/gone.txt"]
    assert outcome.status == "failed" and "HTTP 404" in outcome.detail


def test_an_already_verified_file_is_not_fetched_again(mirror, tmp_path):
    url, served, server = mirror
    requests = server.requests
    text = b"line\n" * 10
    pin = pin_for("fix/t.jsonl.gz", "t.jsonl", gzip.compress(text), text, steps=("gzip",))
    serve(served, pin, text)
    root = tmp_path / "root"
    assert run([pin], root, url)[pin.stored].status == "fetched"
    assert run([pin], root, url)[pin.stored].status == "present"
    assert len(requests) == 1


# ------------------------------------------------------------------------------------------ command line


def parse(argv):
    parser = argparse.ArgumentParser()
    dl.add_download_parser(parser.add_subparsers(dest="data_command"))
    return parser.parse_args(["download", *argv])


def test_cli_exit_codes_and_one_line_per_failure(mirror, tmp_path, monkeypatch, capsys):
    url, served, _ = mirror
    good, bad = b"good\n", b"bad\n"
    pins = (pin_for("one/good.txt", "good.txt", good), pin_for("two/bad.txt", "bad.txt", bad))
    monkeypatch.setattr(upstream, "PINS", pins)
    serve(served, pins[0], good)
    serve(served, pins[1], b"tampered\n")
    root = tmp_path / "root"
    args = parse(["--root", str(root), "--mirror", url, "--no-progress"])
    assert args.func(args) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("FAILED")] == [out[0]]
    assert out[0].startswith("FAILED two/bad.txt: sha256")
    assert out[1].endswith("1 fetched, 0 already verified, 1 failed of 2 files")
    monkeypatch.setenv(dl.MIRROR_ENV, url)  # the mirror from the environment
    args = parse(["one", "--root", str(root), "--no-progress"])
    assert args.func(args) == 0
    with pytest.raises(CliError, match="did you mean one"):
        dl.select_pins(["onee"])


def test_the_progress_bar_draws_on_a_terminal(mirror, tmp_path, monkeypatch, capsys):
    url, served, _ = mirror
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats stderr as a terminal
    data = b"x" * 300_000
    pin = pin_for("fix/bar.bin", "bar.bin", data)
    serve(served, pin, data)
    assert dl.download([pin], tmp_path / "root", mirror=url)[0].status == "fetched"
    err = capsys.readouterr().err
    assert "1 files" in err and "━" in err
