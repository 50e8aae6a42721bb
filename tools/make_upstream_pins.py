"""Write flame/data/upstream.py: where each file of the shared data copy came from, and its checksums.

    .venv/bin/python tools/make_upstream_pins.py [--data ../shared/data]

The origins (repository @ commit: paths) come from the data folder's MANIFEST.md; the checksums from its
SHA256SUMS (every file as stored) and SHA256SUMS.content (the decompressed bytes of each gzipped one). The
manifest names some files only by a pattern or under another name; RENAMED and the pattern functions below
resolve each of those by hand, and the script fails if any stored file is left without an origin.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from flame.data.download import rows_digest  # noqa: E402

OUT = REPO_ROOT / "flame" / "data" / "upstream.py"

# Stored under another name than the upstream file's (the ".gz" we added aside): stored → upstream path.
RENAMED = {
    "dialfact/dialfact_testsmall.jsonl": "scripts/testsmall.jsonl",
    "evouna_qa_eval/evouna_NQ.json": "EVOUNA/NQ.json",
    "evouna_qa_eval/evouna_TQ.json": "EVOUNA/TQ.json",
    "faireval_llmbar_processed/faireval_pairs.json": "Dataset/Processed/FairEval/dataset.json",
    "felm/felm_math.jsonl": "data/test/math.jsonl",
    "felm/felm_reasoning.jsonl": "data/test/reasoning.jsonl",
    "felm/felm_science.jsonl": "data/test/science.jsonl",
    "felm/felm_wk.jsonl": "data/test/wk.jsonl",
    "felm/felm_writing_rec.jsonl": "data/test/writing_rec.jsonl",
    "fgrlhf_qa_feedback/qa_feedback_dev_feedback.json": "tasks/qa_feedback/data/dev_feedback.json",
    "frank/frank_human_annotations.json": "data/human_annotations.json",
    "frank/frank_summac_format_val.json": "data/frank.json",
    "halueval_general/halueval_general_data.json": "data/general_data.json",
    "hanna/hanna_avg.jsonl": "data/hanna.jsonl",
    "hh_rlhf/harmless-base_test.jsonl.gz": "harmless-base/test.jsonl.gz",
    "hh_rlhf/helpful-base_test.jsonl.gz": "data/helpful-base/test.jsonl.gz",
    "hh_rlhf/helpful-online_test.jsonl.gz": "data/helpful-online/test.jsonl.gz",
    "hh_rlhf/helpful-rejection-sampled_test.jsonl.gz": "data/helpful-rejection-sampled/test.jsonl.gz",
    "llmeval2_llmbar_processed/llmeval2_pairs.json": "Dataset/Processed/LLMEval^2/dataset.json",
    "mtbench_human_llmbar_processed/mtbench_human_pairs.json": "Dataset/Processed/MT-Bench/dataset.json",
    "nlg_bagel_sfhot_sfres/emnlp17_bagel_sfhot_sfres_medians.csv": "emnlp_data_medians.csv",
    "pandalm_testset/pandalm_testset-v1.json": "data/testset-v1.json",
    "squality_human_eval/squality_human_eval_all-responses.jsonl": "data/human-eval/all-responses.jsonl",
    "squality_human_eval/squality_v1-3_txt_test_passages.jsonl": "data/v1-3/txt/test.jsonl",
    "summac_benchmark/summac_factcc.json": "data/factcc.json",
    "summac_benchmark/summac_polytope.json": "data/polytope.json",
    "summac_benchmark/summac_summeval.json": "data/summeval.json",
    "summac_benchmark/summac_xsumfaith.json": "data/xsumfaith.json",
    "summeval/summeval_expert_avg.jsonl": "data/summeval.jsonl",
    "topicalchat_usr/usr_topical_chat.json": "reproduce/data/dialogue/topical_chat.json",
    "tulu1_human_eval/eval_annotations_tulu_1.csv": "human_eval/data/eval_annotations_tulu_1.xlsx",
    "wice/claim_dev.jsonl": "data/entailment_retrieval/claim/dev.jsonl",
    "wice/claim_test.jsonl": "data/entailment_retrieval/claim/test.jsonl",
}

# Which of a folder's two origins (MANIFEST order) a stored file comes from, where there are two.
SECOND_ORIGIN = {
    "frank/frank_summac_format_val.json.gz",  # leadawon/FIZZ_dawon
    "hh_rlhf/helpful-base_test.jsonl.gz",  # DaehanKim/EasyRLHF
    "hh_rlhf/helpful-online_test.jsonl.gz",
    "hh_rlhf/helpful-rejection-sampled_test.jsonl.gz",
}

MLQE = re.compile(r"mlqe_pe_da/(train|dev|test20)\.([a-z]{2})([a-z]{2})\.df\.short\.tsv$")
REFCHECKER = re.compile(r"refchecker_human/(accurate_context|noisy_context|zero_context)_(.+_answers\.json)$")
REFCHECKER_IDS = {"dolly": "accurate_context", "msmarco": "noisy_context", "nq": "zero_context"}
WMT_SXS = "wmt_mqm/sxs_mqm_generalMT2023_zhen.3ratingsPerSegment.no_metadata.tsv"


def read_sums(path: Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip()] = digest
    return sums


def read_origins(manifest: Path) -> dict[str, list[tuple[str, str, list[str]]]]:
    """folder → [(repo, commit, listed paths)] from the manifest's table (the paths may be patterns)."""
    origins = {}
    for line in manifest.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) < 3 or not re.search(r" @ [0-9a-f]{40}", cells[1]):
            continue
        found = []
        for m in re.finditer(
            r"([\w.-]+/[\w.-]+) @ ([0-9a-f]{40}): (.*?)(?=; [\w.-]+/[\w.-]+ @ |$)", cells[1]
        ):
            found.append((m[1], m[2], [p.strip() for p in m[3].split(", ")]))
        origins[cells[0]] = found
    return origins


def resolve(stored: str, origins) -> tuple[str, str, str, str | None, tuple[str, ...]]:
    """(repo, commit, upstream path, tar member, conversion steps) for one stored file."""
    folder = stored.split("/")[0]
    plain = stored[:-3] if stored.endswith(".gz") else stored
    repo, commit, listed = origins[folder][1 if stored in SECOND_ORIGIN else 0]
    gz = ("gzip",) if stored.endswith(".gz") else ()
    if m := MLQE.match(plain):
        split, src, tgt = m.groups()
        folder_split = "test" if split == "test20" else split
        path = f"data/direct-assessments/{folder_split}/{src}-{tgt}-{folder_split}.tar.gz"
        return repo, commit, path, Path(plain).name, ("untar", *gz)
    if m := REFCHECKER.match(plain):
        return repo, commit, f"benchmark/human_annotations_v1/{m[1]}/{m[2]}", None, gz
    if plain.startswith("refchecker_human/") and plain.endswith("_example_ids.json"):
        name = Path(plain).name
        return repo, commit, f"benchmark/data/{REFCHECKER_IDS[name.split('_')[0]]}/{name}", None, gz
    if plain == WMT_SXS:
        path = "generalMT2023/zhen/sxs_mqm_generalMT2023_zhen.3ratingsPerSegment.tsv.tar.gz"
        member = "sxs_mqm_generalMT2023_zhen.3ratingsPerSegment.tsv"
        return repo, commit, path, member, ("untar", "drop_wmt_metadata", *gz)
    if stored in RENAMED:  # names kept with their .gz (upstream files that were gzipped already)
        return repo, commit, RENAMED[stored], None, ()
    if plain in RENAMED:
        path = RENAMED[plain]
        steps = ("xlsx_to_csv",) if path.endswith(".xlsx") else ()
        return repo, commit, path, None, steps + gz
    if as_is := [p for p in listed if p.endswith(".gz") and Path(p).name == Path(stored).name]:
        return repo, commit, as_is[0], None, ()  # gzipped upstream already
    matches = [p for p in listed if Path(p).name == Path(plain).name]
    if len(matches) != 1:
        raise SystemExit(f"{stored}: {len(matches)} manifest paths named {Path(plain).name}: {matches}")
    return repo, commit, matches[0], None, gz


def literal(value) -> str:
    """Python source for a field, already in ruff's format (double quotes, exploded calls)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / ".." / "shared" / "data")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    stored = read_sums(args.data / "SHA256SUMS")
    content = read_sums(args.data / "SHA256SUMS.content")
    origins = read_origins(args.data / "MANIFEST.md")
    lines = [
        '"""Generated by tools/make_upstream_pins.py from the shared data copy: edit that script, not this file.',
        "",
        "One pin per stored file (folder/name under the data root): the upstream repository, commit and path it",
        "came from (and the tar member), the conversions that turn the upstream bytes into the stored file, the",
        "stored file's sha256, the sha256 of its decompressed content (gzipped files), and for a converted",
        "spreadsheet the number and digest of its parsed rows.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import NamedTuple",
        "",
        "",
        "class Pin(NamedTuple):",
        "    stored: str  # folder/name under the data root, as in SHA256SUMS",
        "    repo: str  # owner/name on GitHub",
        "    commit: str",
        "    path: str  # in the repository at that commit",
        "    member: str | None  # the tar member taken (matched by its base name)",
        "    steps: tuple[str, ...]  # conversions, in order: untar, drop_wmt_metadata, xlsx_to_csv, gzip",
        "    sha256: str  # the stored file",
        "    content_sha256: str | None  # the decompressed content of a gzipped stored file",
        "    rows: int | None = None  # xlsx_to_csv only: data rows of the csv (header excluded)",
        "    rows_sha256: str | None = None  # xlsx_to_csv only: rows_digest() of header + rows",
        "",
        "",
        "PINS: tuple[Pin, ...] = (",
    ]
    for name in sorted(stored):
        repo, commit, path, member, steps = resolve(name, origins)
        csha = content.get(name[:-3]) if name.endswith(".gz") else None
        if name.endswith(".gz") and csha is None:
            raise SystemExit(f"{name}: no line in SHA256SUMS.content")
        rows = rows_sha = None
        if "xlsx_to_csv" in steps:
            table = csv_rows(gzip.decompress((args.data / name).read_bytes()))
            rows, rows_sha = len(table) - 1, rows_digest(table)
        fields = [name, repo, commit, path, member, steps, stored[name], csha]
        if rows is not None:
            fields += [rows, rows_sha]
        lines += ["    Pin(", *(f"        {literal(f)}," for f in fields), "    ),"]
    lines.append(")")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(stored)} pins to {args.out}")


if __name__ == "__main__":
    main()
