"""Readers keep good rows and report every bad one with file and line."""

import csv
import gzip
import json

import pytest

from flame.data.paths import DataRootError
from flame.data.sources import BadRecord, HubDataset, LocalFiles, Record


def _write(path, text: str | bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(gzip.compress(text) if path.suffix == ".gz" else text)


def test_jsonl_reports_bad_lines_and_keeps_good_ones(tmp_path):
    _write(tmp_path / "d/x.jsonl.gz", '{"a": 1}\nnot json\n\n[1]\n{"a": 2}\n')
    _write(tmp_path / "d/y.jsonl", b'{"a": 3}\n\xff\xfe{"a": 4}\n')
    out = list(LocalFiles("d/*.jsonl*").records(tmp_path))
    good = [r for r in out if isinstance(r, Record)]
    bad = [r for r in out if isinstance(r, BadRecord)]
    assert [r.data["a"] for r in good] == [1, 2, 3]
    assert [(b.location, b.reason.split(" (")[0]) for b in bad] == [
        ("d/x.jsonl.gz:2", "bad JSON"),
        ("d/x.jsonl.gz:4", "expected an object, got list"),
        ("d/y.jsonl:2", "not UTF-8"),
    ]
    assert good[0].data["_file"] == "x.jsonl.gz"


def test_json_forms_list_keyed_object_and_json_lines(tmp_path):
    _write(tmp_path / "list.json", json.dumps([{"v": 1}, {"v": 2}]))
    _write(tmp_path / "keyed.json", json.dumps({"k1": {"v": 1}}))
    _write(tmp_path / "lines.json", '{"v": 1}\n{"v": 2}\n')
    assert [r.data["v"] for r in LocalFiles("list.json").records(tmp_path)] == [1, 2]
    assert [r.data["_key"] for r in LocalFiles("keyed.json").records(tmp_path)] == ["k1"]
    assert [r.location for r in LocalFiles("lines.json").records(tmp_path)] == [
        "lines.json:1",
        "lines.json:2",
    ]


def test_tsv_without_quoting_keeps_stray_quotes(tmp_path):
    _write(tmp_path / "t.tsv", 'a\tb\n"x\t1\ny\t2\n')
    raw = [r.data for r in LocalFiles("t.tsv", quoting=csv.QUOTE_NONE).records(tmp_path)]
    assert [r["a"] for r in raw] == ['"x', "y"]


def test_csv_row_with_wrong_field_count_is_reported(tmp_path):
    _write(tmp_path / "c.csv", "a,b\n1,2\n3\n4,5\n")
    out = list(LocalFiles("c.csv").records(tmp_path))
    assert [type(r).__name__ for r in out] == ["Record", "BadRecord", "Record"]
    assert out[1].location == "c.csv:3"


def test_whitespace_table(tmp_path):
    _write(tmp_path / "w.tsv", "system mqm_avg_score seg_id\nsysA\t1.5 3\n")
    rows = [r.data for r in LocalFiles("w.tsv", format="whitespace").records(tmp_path)]
    assert rows == [{"system": "sysA", "mqm_avg_score": "1.5", "seg_id": "3", "_file": "w.tsv"}]


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(DataRootError, match="missing data file: .*nope.json"):
        list(LocalFiles("nope.json").records(tmp_path))


def test_hub_source_reads_local_files_through_datasets(tmp_path):
    _write(tmp_path / "h.jsonl", '{"q": "a"}\n{"q": "b"}\n')
    src = HubDataset("json", split="train", data_files=(str(tmp_path / "h.jsonl"),))
    assert [r.data["q"] for r in src.records(tmp_path)] == ["a", "b"]
