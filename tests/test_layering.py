"""The layering contract of the hsctms package, checked over the AST of every module.

Layers, bottom to top (a module may import its own layer's package, the layers below, and the
same-layer packages listed in ``SAME_LAYER``; nothing above). docs/architecture.md draws them
and says what each package owns.

Every ``import`` / ``from ... import`` node counts, wherever it is: at the top of a module,
inside a function (lazy imports), inside ``try``, and under ``if TYPE_CHECKING:`` (a type named
in a signature is a dependency too). The one typing allowance: ``plots`` draws the result
objects of the statistics layer, whose ``.plot()`` methods call into ``plots``, so ``plots``
sits below statistics and may name their result types, but only under ``if TYPE_CHECKING:``.
Literal ``importlib.import_module("hsctms....")`` calls count as imports too.

Known violations that cannot be fixed here yet are listed in ``EXCEPTIONS``, each with the
reason and the root fix; an exception that no longer matches an import fails the test, so it is
removed when the fix lands.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "hsctms"

# -- The contract ---------------------------------------------------------------------------------
#: Layers, bottom to top: layer name -> modules/packages in it. An entry covers that module and
#: everything below it; the longest matching entry wins (so ``hsctms.reports.render`` is in
#: ``render`` while the rest of ``hsctms.reports`` is in ``reports``). The root package
#: ``hsctms`` itself (``hsctms/__init__.py``, which re-exports ``Cohort``) covers only itself.
LAYERS: dict[str, tuple[str, ...]] = {
    # importable by every module: the error hierarchy, provenance records, the version
    "base": ("hsctms.errors", "hsctms._provenance", "hsctms._version", "hsctms._files"),
    # the data model: schema, scales, regimens, Cohort
    "model": ("hsctms", "hsctms.model"),
    # data in and out: file bundles and REDCap (io), the database (db), the synthetic and
    # packaged demo registries (datasets: generated from the model, loaded as an io bundle)
    "data": ("hsctms.io", "hsctms.db", "hsctms.datasets"),
    # rendering without statistics: figures (plots) and the Jinja2 HTML/PDF engine
    "render": ("hsctms.plots", "hsctms.reports.render"),
    # the statistical core
    "statistics": ("hsctms.endpoints", "hsctms.survival", "hsctms.evidence", "hsctms.meta",
                   "hsctms.design", "hsctms.eligibility", "hsctms.economics"),
    # analyses of a registry cohort, and the one-patient expectations report
    "analysis": ("hsctms.analysis", "hsctms.patient", "hsctms.emulation"),
    # reports assembled from analyses (the outcomes report)
    "reports": ("hsctms.reports",),
    # stateful services combining the database and the library (concealed randomisation)
    "services": ("hsctms.services",),
    # user interfaces
    "interfaces": ("hsctms.cli", "hsctms.web", "hsctms.__main__"),
}

#: Imports allowed between different packages of the same layer (importer -> imported), with
#: the reason. Packages of one layer are otherwise independent; these edges must stay acyclic.
SAME_LAYER: dict[tuple[str, str], str] = {
    ("hsctms._provenance", "hsctms._version"): "provenance records the hsctms version",
    ("hsctms", "hsctms.model"): "the root package re-exports Cohort",
    ("hsctms.db", "hsctms.io"):
        "the database importer checks rows with the file-bundle parser and validation rules",
    ("hsctms.datasets", "hsctms.io"):
        "the packaged demo registry is a file bundle, loaded with io.load_bundle",
    ("hsctms.meta", "hsctms.evidence"):
        "meta.evidence_pool and meta.reproduce pool the studies of the evidence compendium",
    ("hsctms.design", "hsctms.endpoints"):
        "design.engine_sim derives trial endpoints of simulated courses with the endpoint engine",
    ("hsctms.design", "hsctms.eligibility"):
        "design.feasibility counts how many registry patients a criteria set would admit",
    ("hsctms.cli", "hsctms.web"):
        "`hsctms web ...` commands start the web app",
    ("hsctms.__main__", "hsctms.cli"): "`python -m hsctms` runs the command line",
}

#: layer -> higher layers it may import from, only under ``if TYPE_CHECKING:``.
TYPING_ONLY: dict[str, tuple[str, ...]] = {
    "render": ("statistics",),  # plots takes result objects (KaplanMeier, MetaAnalysis, ...)
}

#: Known back-arrows (importing module, imported module) -> reason and root fix. Each is a
#: violation of the contract kept on purpose until its fix lands; keep this list short.
EXCEPTIONS: dict[tuple[str, str], str] = {}


# -- The checker ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Module:
    """One module's source: dotted name, text, and whether it is a package ``__init__``."""

    name: str
    source: str
    is_package: bool = False


@dataclass(frozen=True)
class Import:
    """One import of an hsctms module found in a module."""

    importer: str
    target: str
    line: int
    typing_only: bool


@dataclass(frozen=True)
class Violation:
    """An import that breaks the contract."""

    imp: Import
    importer_layer: str
    target_layer: str
    why: str

    def __str__(self) -> str:
        where = " (under TYPE_CHECKING)" if self.imp.typing_only else ""
        return (f"{self.imp.importer}:{self.imp.line} imports {self.imp.target}{where}: "
                f"{self.importer_layer} -> {self.target_layer}: {self.why}")


def _layer_index() -> dict[str, int]:
    return {name: i for i, name in enumerate(LAYERS)}


def owner(module: str) -> tuple[str, str] | None:
    """(entry, layer) of the longest ``LAYERS`` entry covering ``module``, or None."""
    best: tuple[str, str] | None = None
    for layer, entries in LAYERS.items():
        for entry in entries:
            covers = module == entry or (entry != PACKAGE and module.startswith(entry + "."))
            if covers and (best is None or len(entry) > len(best[0])):
                best = (entry, layer)
    return best


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _typing_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside the body (not the ``else``) of an ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                out.update(id(n) for n in ast.walk(stmt))
    return out


def _resolve_from(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = mod.name.split(".")
    base = parts if mod.is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _literal_import_module(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def imports_of(mod: Module, known: set[str]) -> list[Import]:
    """Every hsctms import in ``mod`` (``from pkg import sub`` resolves to ``pkg.sub``)."""
    tree = ast.parse(mod.source)
    typing = _typing_nodes(tree)
    found: list[Import] = []

    def add(target: str, node: ast.AST) -> None:
        seen = any(f.target == target and f.line == getattr(node, "lineno", 0) for f in found)
        if (target == PACKAGE or target.startswith(PACKAGE + ".")) and not seen:
            found.append(Import(mod.name, target, getattr(node, "lineno", 0),
                                id(node) in typing))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(mod, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base, node)
        elif isinstance(node, ast.Call):
            target = _literal_import_module(node)
            if target is not None:
                add(target, node)
    return found


def check(modules: Iterable[Module],
          exceptions: Mapping[tuple[str, str], str] | None = None,
          ) -> tuple[list[Violation], list[tuple[str, str]]]:
    """Violations of the contract in ``modules`` and the exceptions that matched nothing.

    Imports listed in ``exceptions`` (default :data:`EXCEPTIONS`) are not reported.
    """
    mods = list(modules)
    known = {m.name for m in mods}
    allowed = EXCEPTIONS if exceptions is None else exceptions
    rank = _layer_index()
    used: set[tuple[str, str]] = set()
    out: list[Violation] = []
    for mod in mods:
        src = owner(mod.name)
        if src is None:
            raise AssertionError(f"{mod.name} is in no layer: add it to LAYERS")
        for imp in imports_of(mod, known):
            dst = owner(imp.target)
            if dst is None:
                raise AssertionError(f"{imp.importer}:{imp.line} imports {imp.target}, "
                                     "which is in no layer: add it to LAYERS")
            why = _why(src, dst, imp, rank)
            if why is None:
                continue
            key = (imp.importer, imp.target)
            if key in allowed:
                used.add(key)
                continue
            out.append(Violation(imp, src[1], dst[1], why))
    stale = sorted(set(allowed) - used)
    return out, stale


def _why(src: tuple[str, str], dst: tuple[str, str], imp: Import,
         rank: Mapping[str, int]) -> str | None:
    """Why ``imp`` breaks the contract, or None if it is allowed."""
    (src_entry, src_layer), (dst_entry, dst_layer) = src, dst
    if rank[dst_layer] < rank[src_layer] or src_entry == dst_entry:
        return None
    if rank[dst_layer] == rank[src_layer]:
        if (src_entry, dst_entry) in SAME_LAYER:
            return None
        return (f"{src_entry} and {dst_entry} are independent packages of one layer "
                "(allow the edge in SAME_LAYER with a reason, or move the shared piece down)")
    if imp.typing_only and dst_layer in TYPING_ONLY.get(src_layer, ()):
        return None
    return "a lower layer imports a higher one (move the shared piece down, pass a value in, " \
        "or invert the dependency)"


def package_modules(root: Path = SRC) -> list[Module]:
    """Every module of the installed-from-source hsctms package."""
    out = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out.append(Module(".".join(parts), path.read_text(encoding="utf-8"), is_pkg))
    return out


# -- The contract holds ---------------------------------------------------------------------------
def test_package_respects_the_layers() -> None:
    violations, _ = check(package_modules())
    assert not violations, "layering violations:\n  " + "\n  ".join(map(str, violations))


def test_every_exception_is_still_needed() -> None:
    _, stale = check(package_modules())
    assert not stale, f"exceptions matching no import any more (remove them): {stale}"


def test_contract_is_well_formed() -> None:
    entries = [e for es in LAYERS.values() for e in es]
    assert len(entries) == len(set(entries)), "an entry is in two layers"
    for a, b in SAME_LAYER:
        la, lb = owner(a), owner(b)
        assert la is not None and lb is not None and la[1] == lb[1], (a, b)
        assert la[0] == a and lb[0] == b, f"SAME_LAYER names whole LAYERS entries: {(a, b)}"
    for (a, b), reason in {**SAME_LAYER, **EXCEPTIONS}.items():
        assert reason.strip(), f"{(a, b)} needs a reason"
    # same-layer edges acyclic: repeatedly drop packages with no outgoing edge
    edges = set(SAME_LAYER)
    while edges:
        sources = {a for a, _ in edges}
        sinks = {b for _, b in edges if b not in sources}
        assert sinks, f"SAME_LAYER has a cycle among {sorted(sources)}"
        edges = {(a, b) for a, b in edges if b not in sinks}
    for low, highs in TYPING_ONLY.items():
        assert all(_layer_index()[h] > _layer_index()[low] for h in highs)


def test_every_module_is_in_a_layer() -> None:
    missing = [m.name for m in package_modules() if owner(m.name) is None]
    assert not missing, f"modules in no layer (add them to LAYERS): {missing}"


# -- The checker catches back-arrows (fake modules) --------------------------------------------
def _violations(*mods: Module) -> list[str]:
    found, _ = check(mods, exceptions={})
    return [f"{v.imp.importer}->{v.imp.target}" for v in found]


def test_checker_catches_a_lazy_back_import() -> None:
    fake = Module("hsctms.survival.fake", (
        "from hsctms.errors import EstimationError\n"
        "from hsctms.model import schema\n"
        "def f():\n"
        "    if True:\n"
        "        from hsctms.cli.demo import register\n"
        "    return register\n"
    ))
    assert _violations(fake) == ["hsctms.survival.fake->hsctms.cli.demo"]


@pytest.mark.parametrize(("source", "caught"), [
    ("import hsctms.web.app\n", "hsctms.web.app"),
    ("import hsctms.patient.report as p\n", "hsctms.patient.report"),
    ("from hsctms import analysis\n", "hsctms.analysis"),
    ("from ..reports import outcomes\n", "hsctms.reports.outcomes"),
    ("try:\n    from hsctms.services import x\nexcept ImportError:\n    x = None\n",
     "hsctms.services"),
    ("import importlib\nm = importlib.import_module('hsctms.reports.outcomes')\n",
     "hsctms.reports.outcomes"),
    # statistics packages are independent unless SAME_LAYER allows the edge
    ("from hsctms.design import survival_design\n", "hsctms.design"),
    # TYPE_CHECKING does not exempt the statistics layer
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hsctms.analysis import x\n",
     "hsctms.analysis"),
])
def test_checker_catches_each_import_form(source: str, caught: str) -> None:
    known = {"hsctms.analysis", "hsctms.reports", "hsctms.reports.outcomes"}
    mods = [Module("hsctms.survival.fake", source)] + [Module(k, "", True) for k in known]
    assert _violations(*mods) == [f"hsctms.survival.fake->{caught}"]


def test_checker_allows_downward_and_listed_imports() -> None:
    fake = Module("hsctms.meta.fake", (
        "from __future__ import annotations\n"
        "import numpy as np\n"
        "from hsctms.errors import EstimationError\n"
        "from hsctms.evidence import Study\n"          # SAME_LAYER edge
        "from hsctms.survival.fake2 import g\n"        # another statistics package: caught
    ))
    assert _violations(fake) == ["hsctms.meta.fake->hsctms.survival.fake2"]
    own = Module("hsctms.meta.fake", "from hsctms.meta.pooling import x\nfrom . import effects\n")
    assert _violations(own) == []
    # the reverse of a SAME_LAYER edge is a violation
    rev = Module("hsctms.evidence.fake", "def f():\n    from hsctms.meta import pool\n")
    assert _violations(rev) == ["hsctms.evidence.fake->hsctms.meta"]


def test_plots_may_name_result_types_only_for_typing() -> None:
    typing_only = Module("hsctms.plots.fake", (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from hsctms.survival.km import KaplanMeier\n"
        "else:\n"
        "    from hsctms.meta.pooling import MetaAnalysis\n"
    ))
    assert _violations(typing_only) == ["hsctms.plots.fake->hsctms.meta.pooling"]
    runtime = Module("hsctms.plots.fake", "def f():\n    from hsctms.survival import km\n")
    assert _violations(runtime) == ["hsctms.plots.fake->hsctms.survival"]
    # typing allowance reaches only the statistics layer, not analysis or above
    higher = Module("hsctms.plots.fake", (
        "import typing\nif typing.TYPE_CHECKING:\n    from hsctms.analysis import Outcomes\n"
    ))
    assert _violations(higher) == ["hsctms.plots.fake->hsctms.analysis"]


def test_exceptions_are_exact_and_stale_ones_reported() -> None:
    mod = Module("hsctms.survival.fake", "from hsctms.cli import app\n")
    found, stale = check([mod], exceptions={("hsctms.survival.fake", "hsctms.cli"): "test",
                                            ("hsctms.survival.gone", "hsctms.cli"): "test"})
    assert found == [] and stale == [("hsctms.survival.gone", "hsctms.cli")]


def test_module_outside_every_layer_is_refused() -> None:
    with pytest.raises(AssertionError, match="in no layer"):
        check([Module("hsctms.newthing", "")], exceptions={})


def test_longest_entry_wins() -> None:
    # reports.render is in the render layer, below the rest of reports
    up = Module("hsctms.reports.render", "from hsctms.reports.outcomes import write\n")
    assert _violations(up, Module("hsctms.reports.outcomes", "")) == [
        "hsctms.reports.render->hsctms.reports.outcomes"]
    down = Module("hsctms.reports.outcomes", "from hsctms.reports.render import render_html\n")
    assert _violations(down, Module("hsctms.reports.render", "")) == []
    assert owner("hsctms") == ("hsctms", "model")
    assert owner("hsctms.newpkg") is None  # the root entry covers only hsctms/__init__.py
