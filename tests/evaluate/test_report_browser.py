"""The HTML report in a real headless Chromium: it opens, and its summary table holds the run's figures."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from flame.data.files import write_benchmark_file
from flame.evaluate.harness import evaluate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class SummaryCells(HTMLParser):
    """Rows of the table with id "summary": the text of each cell."""

    def __init__(self):
        super().__init__()
        self.inside = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == "summary":
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.inside:
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
def test_summary_table_in_headless_chromium(tmp_path):
    rows = [
        {
            "id": "1",
            "prompt": "p1",
            "response_a": "a much longer answer",
            "response_b": "short",
            "label": "A",
            "subset": "s1",
        },
        {
            "id": "2",
            "prompt": "p2",
            "response_a": "a much longer answer",
            "response_b": "short",
            "label": "B",
            "subset": "s1",
        },
        {
            "id": "3",
            "prompt": "p3",
            "response_a": "short",
            "response_b": "a much longer answer",
            "label": "B",
            "subset": "s2",
        },
        {
            "id": "4",
            "prompt": "p4",
            "response_a": "short",
            "response_b": "a much longer answer",
            "label": "B",
            "subset": "s2",
        },
    ]
    bench = write_benchmark_file(tmp_path / "pairs.jsonl", rows)
    out = tmp_path / "run"
    res = evaluate(["fake"], [bench], out=out, n_resamples=100, cache=tmp_path / "c.sqlite")
    html_path = out / "report.html"
    profile = tmp_path / "profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--dump-dom",
        html_path.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    parser = SummaryCells()
    parser.feed(done.stdout)
    header, *body = parser.rows
    assert header[:2] == ["benchmark", "metric"] and header[2:5] == ["fake", "length", "random"]
    first = body[0]
    assert first[0] == "pairs" and first[1] == "accuracy"
    length = res.get("length", "pairs", "accuracy")
    assert length.value == pytest.approx(0.75)  # right on rows 1, 3, 4
    assert first[3].startswith("0.750 [") and first[3].endswith("n=4")
    assert first[2].startswith(f"{res.value('fake', 'pairs', 'accuracy'):.3f}")
    # The page is self-contained: the plots are inline, and the disagreement filter is populated.
    assert 'src="data:image/png;base64,' in done.stdout
    assert "f-bench" in done.stdout and 'class="dis"' in done.stdout
