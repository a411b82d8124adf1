"""The economics report: deterministic result, PSA, tornado, face validity and the inputs
table with every source and status, as JSON and as HTML (the project's Jinja2 machinery)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsctms._provenance import Provenance
from hsctms.economics.inputs import EconomicsInputs, Param, Profile, all_scalar_params
from hsctms.economics.markov import CEAResult, evaluate
from hsctms.economics.psa import PSAResult, TornadoResult, run_psa, tornado

#: Published headline results the model is compared with (evidence-2026.md section 3,
#: evidence.md "Costs"); their full inputs are not public, so none is reproduced exactly.
PUBLISHED = (
    {"study": "UK cost-utility based on MIST (PMID 39111914)", "horizon": 5,
     "result": "aHSCT dominant vs DMTs incl. natalizumab; 100% probability cost-effective at "
               "£20,000/QALY", "metric": "dominance"},
    {"study": "Mariottini 2024, Italy (Neurol Sci, 10.1007/s10072-024-07308-y)", "horizon": 5,
     "result": "5-year cost aHSCT €46,600 vs high-efficacy DMTs €93,800 (ratio 0.50)",
     "metric": "cost ratio", "ratio": 46600 / 93800},
    {"study": "Burt 2020, USA (MSARD 45:102404)", "horizon": 1,
     "result": "mean aHSCT cost $85,184 vs DMTs $80,000-100,000 per year", "metric": "info"},
)


def _rows(inputs: EconomicsInputs) -> list[dict[str, Any]]:
    def prof(name: str, p: Profile) -> dict[str, Any]:
        return {"name": name, "value": f"RR {p.relapsing}; SP {p.sp}",
                "distribution": p.dist + (f" (cv {p.cv:g})" if p.cv else ""),
                "source": p.source, "status": p.status}

    def par(name: str, p: Param) -> dict[str, Any]:
        dist = p.dist + (f" (se {p.se:g})" if p.se else "") + (f" (95% CI {p.ci[0]:g}-"
                                                              f"{p.ci[1]:g})" if p.ci else "")
        return {"name": name, "value": f"{p.value:g}", "distribution": dist,
                "source": p.source, "status": p.status}

    nh = inputs.natural_history
    rows = [
        {"name": "discount rates (costs, effects)",
         "value": f"{inputs.discount.costs:g}, {inputs.discount.effects:g}",
         "distribution": "fixed", "source": inputs.discount.source, "status": "unverified"},
        {"name": "natural history (worsen / improve / to SP; SP worsen / improve)",
         "value": f"RR {nh.relapsing.worsen} / {nh.relapsing.improve} / {nh.relapsing.to_sp}; "
                  f"SP {nh.sp.worsen} / {nh.sp.improve}",
         "distribution": f"Dirichlet rows (concentration {nh.concentration:g})",
         "source": nh.source, "status": nh.status},
        {"name": "background mortality (age, yearly probability)",
         "value": str(inputs.mortality.background), "distribution": "fixed",
         "source": inputs.mortality.source, "status": inputs.mortality.status},
        prof("EDSS mortality multipliers", inputs.mortality.multiplier),
        prof("relapse rate per year", inputs.relapse_rate),
        prof("utility", inputs.utility),
        prof(f"yearly state cost ({inputs.currency})", inputs.state_cost),
    ]
    rows += [par(k, p) for k, p in all_scalar_params(inputs).items()]
    return rows


def _face_validity(inputs: EconomicsInputs) -> list[dict[str, Any]]:
    short = inputs.model_copy(update={"settings": inputs.settings.model_copy(
        update={"horizon_years": 5})})
    res = evaluate(short)
    names = list(res.strategies)
    h = names.index("aHSCT") if "aHSCT" in names else len(names) - 1
    others = [j for j in range(len(names)) if j != h]
    dominant = all(res.costs[h] <= res.costs[j] and res.qalys[h] >= res.qalys[j]
                   for j in others)
    dmt_mean = sum(res.costs[j] for j in others) / len(others)
    out = []
    for p in PUBLISHED:
        if p["metric"] == "dominance":
            ours = ("aHSCT dominant over 5 years" if dominant else
                    "aHSCT not dominant over 5 years")
            agree = "agrees" if dominant else "differs"
        elif p["metric"] == "cost ratio":
            ratio = res.costs[h] / dmt_mean
            ours = (f"5-year cost aHSCT {res.costs[h]:,.0f} vs mean of the DMTs "
                    f"{dmt_mean:,.0f} {inputs.currency} (ratio {ratio:.2f})")
            agree = f"ratio {ratio:.2f} vs published {p['ratio']:.2f}"
        else:
            ours = f"aHSCT episode cost input {inputs.currency} (see inputs)"
            agree = "not comparable (different currency and perimeter)"
        out.append({"study": p["study"], "published": p["result"], "model": ours,
                    "comparison": agree})
    return out


@dataclass(frozen=True)
class EconomicsReport:
    """Everything the ``hsctms economics`` report shows.

    Parameters
    ----------
    inputs : EconomicsInputs
        The validated inputs.
    cea : CEAResult
        Deterministic result.
    psa : PSAResult
        Probabilistic sensitivity analysis.
    tornado : TornadoResult
        One-way sensitivity analysis.
    input_rows : tuple of dict
        Every input with its value, distribution, source and status.
    face_validity : tuple of dict
        Published headline results next to the model's.
    provenance : Provenance
        What was computed from which inputs.
    """

    inputs: EconomicsInputs = field(repr=False)
    cea: CEAResult
    psa: PSAResult
    tornado: TornadoResult
    input_rows: tuple[dict[str, Any], ...] = field(repr=False)
    face_validity: tuple[dict[str, Any], ...]
    provenance: Provenance = field(default_factory=lambda: Provenance("economics.report"))

    @property
    def summary(self) -> str:
        """The deterministic, PSA and tornado summaries, and how many inputs are unsourced."""
        flagged = sum(r["status"] in ("unverified", "assumption") for r in self.input_rows)
        return (f"{self.cea.summary}\n{self.psa.summary}\n{self.tornado.summary}\n"
                f"{flagged} of {len(self.input_rows)} inputs are unverified or placeholders "
                "(see the inputs table): the results illustrate the model, they are not a "
                "cost-effectiveness verdict.")

    def to_frame(self) -> Any:
        """The inputs table.

        Returns
        -------
        pandas.DataFrame
            One row per input: value, distribution, source, status.
        """
        import pandas as pd

        return pd.DataFrame(list(self.input_rows)).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``economics.report``).

        Returns
        -------
        dict of str to Any
            ``inputs`` (the raw inputs), ``input_table``, ``deterministic``, ``psa``,
            ``tornado``, ``face_validity`` and ``provenance``.
        """
        return {"schema": "economics.report", "inputs": self.inputs.model_dump(mode="json"),
                "input_table": [dict(r) for r in self.input_rows],
                "deterministic": self.cea.to_dict(), "psa": self.psa.to_dict(),
                "tornado": self.tornado.to_dict(),
                "face_validity": [dict(r) for r in self.face_validity],
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Any = None) -> Any:
        """The acceptability curves and frontier (see :meth:`PSAResult.plot`).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on.

        Returns
        -------
        matplotlib Axes
            The axes drawn on.
        """
        return self.psa.plot(ax)

    def to_html(self) -> str:
        """The HTML report (base template of hsctms.reports, inline SVG figures).

        Returns
        -------
        str
            The HTML document.
        """
        import matplotlib.pyplot as plt

        from hsctms.plots._style import figure_to_svg
        from hsctms.reports.render import ReportMeta, environment

        figs = {}
        for key, draw in (("plane", lambda ax: self.psa.plot(ax, kind="plane")),
                          ("ceac", lambda ax: self.psa.plot(ax, kind="ceac")),
                          ("evpi", lambda ax: self.psa.plot(ax, kind="evpi")),
                          ("frontier", self.cea.plot), ("tornado", self.tornado.plot)):
            fig, ax = plt.subplots(figsize=(7, 4.5) if key != "tornado" else
                                   (8, 0.3 * len(self.tornado.rows) + 1.5))
            draw(ax)
            fig.tight_layout()
            figs[key] = figure_to_svg(fig)
        meta = ReportMeta(
            title=f"Cost-effectiveness of aHSCT: {self.inputs.name.upper()} preset",
            subtitle=(f"Markov cohort model, {self.inputs.settings.horizon_years}-year horizon, "
                      f"{self.cea.currency}; PSA {self.psa.draws} draws"),
            definitions=["Yearly cycles, trapezoidal half-cycle correction, mid-cycle "
                         "discounting; ICERs with strong and extended dominance removed.",
                         "docs/economics.md describes the model and every input."],
            sources=["Inputs: the preset YAML; each input's source and status in the table."])
        template = Path(__file__).with_name("report.html.j2").read_text(encoding="utf-8")
        tmpl = environment().from_string(template)
        return tmpl.render(meta=meta, r=self, cea=self.cea.to_frame().reset_index()
                           .to_dict("records"), psa=self.psa.to_frame().reset_index()
                           .to_dict("records"), figs=figs)


def build_report(inputs: EconomicsInputs, *, draws: int | None = None, seed: int | None = None,
                 progress: Callable[[str], None] | None = None) -> EconomicsReport:
    """Run the deterministic analysis, the PSA and the tornado and collect the report.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs.
    draws : int, optional
        PSA draws (default ``inputs.settings.draws``).
    seed : int, optional
        PSA seed (default ``inputs.settings.seed``).
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    EconomicsReport
        The report contents.
    """
    say = progress or (lambda _msg: None)
    say("deterministic analysis")
    cea = evaluate(inputs)
    psa = run_psa(inputs, draws=draws, seed=seed, progress=say)
    say("one-way sensitivity (tornado)")
    tor = tornado(inputs)
    say("face validity")
    face = _face_validity(inputs)
    return EconomicsReport(inputs=inputs, cea=cea, psa=psa, tornado=tor,
                           input_rows=tuple(_rows(inputs)), face_validity=tuple(face),
                           provenance=Provenance("economics.report",
                                                 definition={"preset": inputs.name,
                                                             "draws": psa.draws,
                                                             "seed": psa.seed}))


def write_report(report: EconomicsReport, out: str | Path) -> Path:
    """Write the report as ``.html`` or ``.json``.

    Parameters
    ----------
    report : EconomicsReport
        The report.
    out : str or Path
        Output path; the suffix chooses the format.

    Returns
    -------
    Path
        The path written.
    """
    import json

    from hsctms.errors import ConfigurationError

    path = Path(out)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(report.to_html(), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False, default=str)
                        + "\n", encoding="utf-8")
    else:
        raise ConfigurationError(f"unknown report format {path.suffix!r}",
                                 hint="use --out report.html or --out report.json")
    return path

