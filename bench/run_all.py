"""Runs every benchmark, each in its own process so timings and peak memory do not mix.

.venv/bin/python -m bench.run_all            # all of them
.venv/bin/python -m bench.run_all metrics    # those whose name contains "metrics"
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if any(w in s.stem for w in wanted)]
    failed = []
    for script in scripts:
        print(f"\n## {script.stem}", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent, check=False)
        if result.returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nbenchmarks that failed to run or missed a bar: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
