"""Lighthouse scores of the running app (issue #12: accessibility >= 98), mobile form factor.

    .venv/bin/python app.py &
    .venv/bin/python -m bench.lighthouse [--url http://127.0.0.1:7860/] [--perf]

Lighthouse is a Node program: it is installed once with npm into ~/.cache/kling-o1-studio/
lighthouse (12.2.3, the last release that runs on Debian 12's Node 20) and drives Debian's
Chromium. Accessibility and best practices do not depend on the machine's load; performance
does (2 shared cores make it noisy), so it is measured only with --perf.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "12.2.3"
HOME = Path.home() / ".cache" / "kling-o1-studio" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"


def install() -> Path:
    binary = HOME / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        if shutil.which("npm") is None:
            sys.exit("npm is not installed: apt-get install nodejs npm (or skip Lighthouse)")
        HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=HOME, check=True, capture_output=True)
        subprocess.run(["npm", "i", "-E", f"lighthouse@{VERSION}"], cwd=HOME, check=True)
    return binary


def audit(url: str, categories: list[str]) -> dict[str, object]:
    binary = install()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        env = dict(os.environ, CHROME_PATH=CHROMIUM)
        subprocess.run(
            [str(binary), url, f"--only-categories={','.join(categories)}",
             "--form-factor=mobile", "--chrome-flags=--headless=new --no-sandbox",
             "--output=json", f"--output-path={out}", "--quiet"],
            check=True, env=env)
        return json.loads(out.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--perf", action="store_true", help="also score performance")
    args = parser.parse_args()
    categories = ["accessibility", "best-practices"] + (["performance"] if args.perf else [])
    report = audit(args.url, categories)
    for key, cat in report["categories"].items():  # type: ignore[union-attr]
        print(f"{key}: {round(100 * (cat['score'] or 0))}")
    for audit_ in report["audits"].values():  # type: ignore[union-attr]
        if audit_.get("scoreDisplayMode") == "binary" and audit_.get("score") == 0:
            print(f"  failed: {audit_['id']}: {audit_['title']}")


if __name__ == "__main__":
    main()
