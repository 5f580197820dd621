"""The webchat widget's weight as a visitor downloads it: minified with terser, then gzipped.

    .venv/bin/python -m pytest tests/bench/test_bench_widget.py -m bench -s -q -p no:xdist

terser comes from npm (package.json; `make test-tools` runs npm ci). The goal is 15 KB; unlike timings,
a size is exact, so going over it fails.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "static" / "webchat.js"
TERSER = ROOT / "node_modules" / ".bin" / "terser"
MICROSOFT = ROOT / "node_modules" / "botframework-webchat" / "dist" / "webchat.js"  # already minified
GOAL = 15 * 1024


@pytest.mark.bench
def test_widget_size():
    if not TERSER.exists():
        pytest.skip("terser is not installed: run npm ci (make test-tools does)")
    minified = subprocess.run([str(TERSER), str(WIDGET), "--compress", "--mangle"], check=True,
                              capture_output=True).stdout
    size = len(gzip.compress(minified, compresslevel=9))
    print(f"\nwidget: {size / 1024:.1f} KB minified+gzipped (goal <= 15 KB)")
    print(f"  source {WIDGET.stat().st_size / 1024:.1f} KB, minified {len(minified) / 1024:.1f} KB")
    if MICROSOFT.exists():
        measured = len(gzip.compress(MICROSOFT.read_bytes(), compresslevel=9))
        print(f"  BotFramework-WebChat dist/webchat.js as installed: {measured / 1024:.0f} KB gzipped")
    assert size <= GOAL
