"""The web page at / and the reports it shows; the page itself runs in headless Chromium.

The browser loads ``/?prompt=...&a=...&b=...&run=1&report=PATH``: the page's own script fills the form, submits
it through the same handler as the Judge button, renders the judgment and opens the report; Chromium's
``--dump-dom`` prints the DOM once the page's network activity is over (``--virtual-time-budget``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import httpx
import pytest
from serve_helpers import settings

from flame.data.files import load_benchmark_file, write_benchmark_file
from flame.raters.baselines import FakeRater
from flame.serve.app import running_server

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(url: str, tmp_path: Path) -> str:
    exe = chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    out = subprocess.run(
        [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture
def reports(tmp_path):
    root = tmp_path / "reports"
    (root / "run1").mkdir(parents=True)
    (root / "run1" / "summary.json").write_text('{"accuracy": 0.75, "n": 4}')
    (root / "run1" / "report.md").write_text("# RewardBench\n\naccuracy 0.75\n")
    (root / ".hidden.json").write_text("{}")
    (root / "notes.exe").write_text("no")
    return root


def field(dom: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.S)
    assert m, f"no #{element_id} in the page"
    return m.group(1)


@pytest.mark.browser
def test_the_page_judges_a_pair_and_shows_a_report(tmp_path, reports):
    row = {"prompt": "What is 2 + 2?", "response_a": "4", "response_b": "It is 5 <b>bold</b>."}
    ex = load_benchmark_file(write_benchmark_file(tmp_path / "p.jsonl", [row])).examples[0]
    want = FakeRater().judge([ex])[0]
    with running_server(FakeRater(), settings(reports_dir=str(reports))) as url:
        query = urllib.parse.urlencode(
            {
                "prompt": row["prompt"],
                "a": row["response_a"],
                "b": row["response_b"],
                "run": "1",
                "report": "run1/summary.json",
            }
        )
        dom = dump_dom(f"{url}/?{query}", tmp_path)
    assert 'data-state="done"' in dom, dom[-3000:]
    assert f'data-prediction="{want.prediction}"' in dom
    assert field(dom, "verdict") == f"Response {want.prediction} is better"
    bars = dict(re.findall(r'class="bar" data-label="(\w+)" data-prob="([0-9.e-]+)"', dom))
    assert {k: float(v) for k, v in bars.items()} == pytest.approx(want.probs)
    # The rendered input is shown as text: the response's markup arrives escaped, not as HTML.
    rendered = field(dom, "rendered")
    assert "response B: It is 5 &lt;b&gt;bold&lt;/b&gt;." in rendered
    assert "rater fake" in field(dom, "status")
    # Reports: the listing (no hidden files, no other suffixes) and the opened JSON, pretty-printed.
    assert "2 files under" in field(dom, "reports_note")
    listing = field(dom, "report_list") + dom[dom.index('id="report_list"') :].split("</ul>")[0]
    assert "run1/summary.json" in listing and "run1/report.md" in listing
    assert ".hidden.json" not in listing and "notes.exe" not in listing
    assert '"accuracy": 0.75' in field(dom, "report_text")


@pytest.mark.browser
def test_the_page_shows_the_servers_error(tmp_path):
    with running_server(FakeRater(), settings(api_keys=("k",))) as url:
        dom = dump_dom(f"{url}/?prompt=x&a=y&b=z&run=1", tmp_path)
    assert 'data-state="error"' in dom
    assert "401" in field(dom, "error") and "API key" in field(dom, "error")


def test_the_page_and_reports_over_http(reports):
    with running_server(FakeRater(), settings(reports_dir=str(reports))) as url:
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'id="judge"' in page.text
        listing = httpx.get(f"{url}/v1/reports").json()
        assert [f["path"] for f in listing["files"]] == ["run1/report.md", "run1/summary.json"]
        r = httpx.get(f"{url}/v1/reports/run1/report.md")
        assert r.status_code == 200 and "RewardBench" in r.text
        for bad in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "notes.exe", "run1", "missing.json"):
            assert httpx.get(f"{url}/v1/reports/{bad}").status_code == 404, bad
    with running_server(FakeRater(), settings()) as url:
        assert httpx.get(f"{url}/v1/reports").json()["files"] == []
        assert httpx.get(f"{url}/v1/reports/x.json").status_code == 404
