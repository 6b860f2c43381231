"""Runs the built assets under the Lambda runtime's Python: imports every handler and leaves
bytecode for what the imports loaded, so a cold start reads ``.pyc`` instead of compiling.

Lambda's code folders are read-only, so without shipped bytecode every cold start compiles
every module it imports. Compiling only what the handlers import keeps the layer within the
size limit (all of scipy's bytecode would not fit); lazily imported modules compile on first
use. The ``.pyc`` files use unchecked hashes: zip archives keep modification times to two
seconds only, which would make timestamp-checked bytecode look stale after unzipping.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from cellhub_local.packaging_plan import Asset

_PROBE = """
import importlib, py_compile, sys
roots, handlers = {roots!r}, {handlers!r}
sys.path[:0] = roots
for name in handlers:
    importlib.import_module(name)
ours = tuple(roots[:-1])  # the last root is what the runtime provides: never shipped
for module in list(sys.modules.values()):
    source = getattr(module, "__file__", None) or ""
    if source.endswith(".py") and source.startswith(ours):
        py_compile.compile(source, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


def import_and_compile(assets: Sequence[Asset], out: Path, runtime: Path, python: str) -> bool:
    """Import each function's handlers as Lambda would (its folder, its layers' ``python/``,
    then ``runtime``: nothing from this machine's site-packages) and compile what they load.
    Prints one line per function; False when any handler fails to import."""
    ok = True
    for asset in assets:
        if not asset.handlers:
            continue
        roots = [out / asset.name, *(out / n / "python" for n in asset.layers), runtime]
        probe = _PROBE.format(
            roots=[str(p.resolve()) for p in roots], handlers=list(asset.handlers)
        )
        env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
        result = subprocess.run([python, "-I", "-c", probe], env=env, check=False)
        print(f"import check {asset.name}: {'ok' if result.returncode == 0 else 'FAILED'}")
        ok = ok and result.returncode == 0
    return ok
