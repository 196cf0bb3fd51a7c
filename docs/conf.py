"""Sphinx configuration for sparsecode.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery examples in ``examples/<family>/plot_*.py`` run during the build
at their small default size; ``SPARSECODE_FULL=1`` in the environment makes
them run at full (paper) size instead.  The API reference is generated here,
at build time, from the ``__all__`` of every subpackage listed in
``sparsecode._SUBPACKAGES``: a new public name appears without editing any
rst file.
"""

import importlib
import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import sparsecode  # noqa: E402

# -- project -----------------------------------------------------------------
project = "sparsecode"
author = "the sparsecode developers"
copyright = "2026, the sparsecode developers"  # noqa: A001
version = release = sparsecode.__version__

# -- extensions --------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*/*.ipynb",
                    "**/*.py", "**/*.zip", "**/*.md5", "**/*.pickle"]
root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
default_role = "literal"

# No network: intersphinx stays off on purpose.

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _patch_autosummary_summary():
    """Keep autosummary from cutting a summary inside inline markup.

    ``sphinx.ext.autosummary.extract_summary`` (Sphinx 9) splits the first
    paragraph at the first ``". "`` and is meant to extend the cut while the
    piece does not parse, but it re-parses the whole paragraph instead of the
    piece, so a summary such as ``Kronecker product ``A ⊗ ... ⊗ B``.`` is cut
    inside the literal and the build fails with "Inline literal start-string
    without end-string".  This re-implements the intended check.
    """
    from docutils import nodes
    from sphinx.ext import autosummary as _as

    original = _as.extract_summary

    def extract_summary(doc, settings):
        summary = original(doc, settings)
        node = _as._parse_summary([summary], settings)
        if not any(node.findall(nodes.system_message)):
            return summary
        stanza = []
        for line in doc:
            if not line.strip():
                if stanza:
                    break
                continue
            stanza.append(line.strip())
        text = " ".join(stanza)
        pieces = _as.periods_re.split(text)
        for i in range(1, len(pieces) + 1):
            candidate = ". ".join(pieces[:i]).rstrip(".") + "."
            node = _as._parse_summary([candidate], settings)
            if not any(node.findall(nodes.system_message)):
                return _as.literal_re.sub(".", candidate)
        return text

    _as.extract_summary = extract_summary


_patch_autosummary_summary()

# A numpydoc type such as ``ndarray of shape (n_iter_,)`` names a fitted
# attribute; in reST a bare word ending in "_" is a hyperlink reference, and
# the build fails with 'Unknown target name: "n_iter"'.  Escape the trailing
# underscore in the type part of "name : type" lines (the meaning is never a
# link there); words inside backquotes are left alone.
_TYPE_LINE = re.compile(r"^(\s*[\w*][\w, *]*\s:\s)(.*)$")
_BARE_REF = re.compile(r"(?<![`\w\\])([A-Za-z]\w*)_(?=[^\w`]|$)")


def _escape_attribute_refs(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        m = _TYPE_LINE.match(line)
        if m:
            lines[i] = m.group(1) + _BARE_REF.sub(r"\1\\_", m.group(2))


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Skip members scikit-learn adds to our classes (``set_fit_request``, ...).

    scikit-learn's metadata routing injects ``set_<method>_request`` methods
    into every estimator class; their docstrings refer to scikit-learn's own
    glossary and labels, which do not exist here.
    """
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn") or re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    # before numpydoc (priority 500) rewrites the docstring
    app.connect("autodoc-process-docstring", _escape_attribute_refs, priority=100)
    app.connect("autodoc-skip-member", _skip_foreign_members)

# -- HTML theme --------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_depth": 2,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
    }
except ImportError:  # pragma: no cover - fallback theme
    html_theme = "alabaster"
html_title = f"sparsecode {version}"
html_static_path = []
html_show_sourcelink = False

# -- sphinx-gallery ----------------------------------------------------------
FULL = os.environ.get("SPARSECODE_FULL") == "1"


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    # greedy first (the foundation family), then the other family folders
    # alphabetically; a list (not a callable) keeps the config picklable.
    "subsection_order": ["../examples/greedy", "*"],
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("sparsecode",),
    "reference_url": {"sparsecode": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    # Full-size runs (SPARSECODE_FULL=1) take minutes per example.
    "min_reported_time": 1,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
}


# -- API reference, generated from __all__ ----------------------------------
API_DIR = HERE / "api" / "generated"

_SUBPACKAGE_TITLES = {
    "greedy": "Greedy pursuits",
    "convex": "Convex (Lasso-type) solvers",
    "thresholding": "Thresholding algorithms",
    "bayes": "Sparse Bayesian learning",
    "unmixing": "Hyperspectral unmixing and NMF",
    "dictionary": "Dictionary learning and sparse coding",
    "amortized": "Amortised sparse coding (learned encoders)",
    "decomposition": "Sparse directions (sparse PCA, sparse CCA, feature selection)",
    "operators": "Linear operators",
    "datasets": "Datasets",
    "metrics": "Metrics",
}


def public_api():
    """``[(subpackage, [names])]`` in ``sparsecode._SUBPACKAGES`` order.

    A name exported by two subpackages is listed once, under the first (the
    same rule as the top-level lazy import).
    """
    seen = set()
    out = []
    for sub in sparsecode._SUBPACKAGES:
        try:
            mod = importlib.import_module(f"sparsecode.{sub}")
        except ImportError:  # a family that is not there yet
            continue
        names = [n for n in sorted(getattr(mod, "__all__", ()), key=str.lower) if n not in seen]
        seen.update(names)
        if names:
            out.append((sub, names))
    return out


def _kind(name):
    obj = getattr(sparsecode, name)
    if isinstance(obj, type):
        return "class"
    return "function" if callable(obj) else "data"


def write_api_reference():
    """Write ``api/generated/index.rst``: one autosummary table per subpackage."""
    API_DIR.mkdir(parents=True, exist_ok=True)
    lines = [
        ".. This file is generated by docs/conf.py from the subpackages' __all__.",
        "",
        ".. _api_reference:",
        "",
        "API reference",
        "=============",
        "",
        "Every public estimator and function, importable from the top level",
        "(``from sparsecode import OrthogonalMatchingPursuit``).  This page is",
        "generated from each subpackage's ``__all__`` when the documentation is built.",
        "",
        ".. currentmodule:: sparsecode",
        "",
    ]
    for sub, names in public_api():
        title = f"``sparsecode.{sub}``: {_SUBPACKAGE_TITLES.get(sub, sub)}"
        mod = importlib.import_module(f"sparsecode.{sub}")
        doc = (mod.__doc__ or "").strip().splitlines()
        lines += [title, "-" * len(title), ""]
        if doc:
            lines += [doc[0], ""]
        for kind, header in (("class", "Classes"), ("function", "Functions"),
                             ("data", "Constants")):
            group = [n for n in names if _kind(n) == kind]
            if not group:
                continue
            lines += [
                f".. rubric:: {header}",
                "",
                ".. autosummary::",
                "   :toctree: .",
                f"   :template: autosummary/{kind}.rst",
                "   :nosignatures:",
                "",
            ]
            lines += [f"   {n}" for n in group]
            lines.append("")
    text = "\n".join(lines) + "\n"
    target = API_DIR / "index.rst"
    # rewrite only on change so that incremental builds stay incremental
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


write_api_reference()
