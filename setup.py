"""Compiles the world's hot modules (``MODULES`` in simulator/native.py) with mypyc and
records their sources' digests, so that a changed source runs from source, not stale.

``BEAMDRILL_NATIVE=0`` at install time skips compiling: the world then runs from source,
with the same results, more slowly (see the README's benchmark section).
"""

import json
import os
import runpy
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
# Read as a file: the package's dependencies are not installed yet.
native = runpy.run_path(str(HERE / "simulator" / "native.py"))

ext_modules = []
if os.environ.get(native["SWITCH"]) != "0":
    from mypyc.build import mypycify

    ext_modules = mypycify(list(native["MODULES"]), opt_level="3")
    for extension in ext_modules:
        extension.optional = True  # no C compiler: the install goes on, and the world runs from source
    digests = native["source_digests"](HERE)
    (HERE / native["MANIFEST"]).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")

setup(ext_modules=ext_modules)
