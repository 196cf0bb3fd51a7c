"""Build the Cython kernels in ``_ext/`` as ``sparsecode._ext.<name>``.

OpenMP is probed with a tiny test program; when the compiler lacks it the
kernels are built serially (``prange`` then runs as a plain loop) and a
warning says so.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
EXT_DIR = "_ext"
KERNELS = sorted(p.stem for p in (HERE / EXT_DIR).glob("*.pyx"))
# C headers included by the kernels: a change rebuilds them (and MANIFEST.in ships them)
# (not the *_api.h files Cython writes for ``cdef api`` functions: build outputs)
HEADERS = sorted(f"{EXT_DIR}/{p.name}" for p in (HERE / EXT_DIR).glob("*.h")
                 if not p.name.endswith("_api.h"))
# Developers may rebuild a subset: SPARSECODE_EXT=_omp,_nmf python setup.py build_ext -i
if os.environ.get("SPARSECODE_EXT"):
    KERNELS = [k for k in KERNELS if k in os.environ["SPARSECODE_EXT"].split(",")]


def _openmp_flags(compiler):
    """Return (compile_args, link_args) for OpenMP, or ([], []) if unsupported."""
    if os.environ.get("SPARSECODE_NO_OPENMP"):
        return [], []
    if sys.platform == "win32":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    code = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) { int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1; }
        """
    )
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "omp_probe.c")
        with open(src, "w") as f:
            f.write(code)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "omp_probe", output_dir=tmp, extra_postargs=lflags)
                exe = os.path.join(tmp, "omp_probe")
                subprocess.run([exe], check=True, capture_output=True)
                return cflags, lflags
            except Exception:  # noqa: BLE001 - any failure means "no OpenMP"
                continue
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    warnings.warn(
        "sparsecode: the C compiler does not support OpenMP; the kernels are built "
        "serially (n_jobs has no effect).",
        stacklevel=1,
    )
    return [], []


class BuildExt(build_ext):
    def build_extensions(self):
        cflags, lflags = _openmp_flags(self.compiler)
        opt = [] if sys.platform == "win32" else ["-O3"]
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + opt + cflags
            ext.extra_link_args = list(ext.extra_link_args) + lflags
        super().build_extensions()


def _extensions():
    from Cython.Build import cythonize

    exts = [
        Extension(
            f"sparsecode._ext.{name}",
            [f"{EXT_DIR}/{name}.pyx"],
            include_dirs=[np.get_include(), EXT_DIR],
            depends=HEADERS,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for name in KERNELS
    ]
    return cythonize(
        exts,
        include_path=[EXT_DIR],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


# The real hyperspectral scenes live beside the source checkout, in
# ``../shared/data/hyperspectral``; a non-editable ``pip install .`` copies
# them into the installed package (``sparsecode/datasets/data/hyperspectral``)
# so that ``load_hyperspectral("samson")`` works without SPARSECODE_DATA.
SHARED_SCENES = HERE / ".." / "shared" / "data" / "hyperspectral"


class BuildPy(build_py):
    def run(self):
        super().run()
        # editable installs read the source tree, which finds ../shared itself
        if getattr(self, "editable_mode", False) or not SHARED_SCENES.is_dir():
            return
        dest = Path(self.build_lib) / "sparsecode" / "datasets" / "data" / "hyperspectral"
        dest.mkdir(parents=True, exist_ok=True)
        for src in sorted(SHARED_SCENES.iterdir()):
            if src.suffix in (".npz", ".md") and src.is_file():
                shutil.copyfile(src, dest / src.name)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt, "build_py": BuildPy})
