"""Build the Cython core (arb/_core). Everything else is in pyproject.toml.

Directives are set once here. ``ARB_CYTHON_DEBUG=1`` turns bounds/wraparound/initialized checks
back on and compiles without optimisation; ``ARB_CYTHON_ANNOTATE=1`` writes the annotate HTML
next to each ``.pyx``; ``ARB_CYTHON_PORTABLE=1`` drops ``-march=native``.
"""

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("ARB_CYTHON_DEBUG") == "1"
ANNOTATE = os.environ.get("ARB_CYTHON_ANNOTATE") == "1"

CORE = Path("arb") / "_core"
# ARB_CORE_MODULES=book,spread builds only those (handy while one module is mid-edit).
_only = {m for m in os.environ.get("ARB_CORE_MODULES", "").split(",") if m}
MODULES = sorted(p.stem for p in CORE.glob("*.pyx") if not _only or p.stem in _only)

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}

# The core is built where it runs (pip install -e .), so it may use the CPU's full instruction set;
# ARB_CYTHON_PORTABLE=1 builds for a generic x86-64/arm64 (e.g. for a wheel shipped elsewhere).
PORTABLE = os.environ.get("ARB_CYTHON_PORTABLE") == "1"
CFLAGS = ["-O0", "-g"] if DEBUG else ["-O3"] + ([] if PORTABLE else ["-march=native"])

extensions = [
    Extension(f"arb._core.{name}", [str(CORE / f"{name}.pyx")], extra_compile_args=CFLAGS)
    for name in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        annotate=ANNOTATE,
        include_path=["."],
        # always regenerate the C: a stale .c would silently keep another build's directives
        force=True,
    ),
)
