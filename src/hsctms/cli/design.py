"""``hsctms design``: sample size, group-sequential plans, simulation and design presets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hsctms.cli._common import console, fail, progress_display, write_json
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import DesignError, HsctmsError

design_app = typer.Typer(
    help="Trial design: sample size and power, interim plans, simulated operating "
         "characteristics and presets (ZEUS, MIST-like, STAR-MS-like).\n\n"
         "Example: hsctms design preset zeus --out zeus.html --json zeus.json",
    no_args_is_help=True,
)

JSON_OPT = typer.Option(None, "--json", help="Write the result as JSON to this file.")
OUT_OPT = typer.Option(None, "--out", help="Design report (.html or .pdf).")


def _emit(result: Any, json_path: Path | None) -> None:
    console.print(result.summary, highlight=False)
    if json_path is not None:
        write_json(json_path, result.to_dict())
        console.print(f"JSON written to {json_path}", highlight=False)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.replace(";", ",").split(",") if x.strip()]


@design_app.command("proportions")
def proportions_cmd(
    p1: float | None = typer.Option(None, help="Proportion in the aHSCT arm (e.g. NEDA 0.8)."),
    p2: float | None = typer.Option(None, help="Proportion in the control arm."),
    n: float | None = typer.Option(None, help="Total patients (omit to solve for n)."),
    power: float | None = typer.Option(None, help="Power (omit to solve for power)."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    sided: int = typer.Option(2, help="1 or 2."),
    margin: float = typer.Option(0.0, help="Null margin for p1 - p2 (e.g. -0.1 for NI)."),
    ratio: float = typer.Option(1.0, help="Allocation n1/n2."),
    method: str = typer.Option("score", help="score (pooled/Farrington-Manning) or wald."),
    cc: bool = typer.Option(False, "--cc", help="Fleiss continuity correction."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Two proportions: solve for whichever of p1, p2, n, power is omitted.

    Example: hsctms design proportions --p1 0.8 --p2 0.4 --power 0.8
    """
    from hsctms.design import Testing, two_proportions

    try:
        res = two_proportions(p1, p2, n=n, power=power,
                              testing=Testing(alpha, sided, margin=margin), ratio=ratio,
                              method=method, continuity=cc)
    except HsctmsError as exc:
        fail(exc)
    _emit(res, json_path)


@design_app.command("survival")
def survival_cmd(
    hr: float | None = typer.Option(None, help="Hazard ratio aHSCT/control (omit to solve)."),
    events: float | None = typer.Option(None, help="Number of events."),
    n: float | None = typer.Option(None, help="Number of patients."),
    power: float | None = typer.Option(None, help="Power (omit to solve for power)."),
    hr0: float = typer.Option(1.0, help="Null hazard ratio (NI margin > 1)."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    sided: int = typer.Option(2, help="1 or 2."),
    ratio: float = typer.Option(1.0, help="Allocation n1/n2."),
    method: str = typer.Option("schoenfeld", help="schoenfeld, freedman or hsieh."),
    control_median: float | None = typer.Option(None, help="Control median time."),
    control_rate: float | None = typer.Option(None, help="Control hazard per time unit."),
    control_proportion: float | None = typer.Option(None, help="Control P(event) by --event-time."),
    event_time: float | None = typer.Option(None, help="Time for --control-proportion."),
    accrual: float = typer.Option(0.0, help="Accrual duration (uniform)."),
    follow_up: float | None = typer.Option(None, help="Follow-up after the end of accrual."),
    dropout_rate: float = typer.Option(0.0, help="Exponential dropout hazard."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Time to event (log-rank): events and patients with accrual and dropout.

    Example: hsctms design survival --hr 0.667 --power 0.8
    """
    from hsctms.design import Accrual, ControlArm, Dropout, EventModel, Testing, survival_design

    try:
        model = None
        controls = (control_rate, control_median, control_proportion)
        if follow_up is not None and any(v is not None for v in controls):
            model = EventModel(control=ControlArm(rate=control_rate, median=control_median,
                                                  proportion=control_proportion,
                                                  time=event_time),
                               accrual=Accrual(accrual, follow_up=follow_up),
                               dropout=Dropout(rate=dropout_rate))
        elif follow_up is not None or any(v is not None for v in controls):
            raise DesignError("--follow-up and the control hazard go together (they turn "
                              "events into patients).",
                              hint="Give --follow-up with --control-median, --control-rate or "
                                   "--control-proportion and --event-time; or neither, for a "
                                   "design in events.")
        res = survival_design(hr, events=events, n=n, power=power,
                              testing=Testing(alpha, sided, margin=hr0), ratio=ratio,
                              method=method, model=model)
    except HsctmsError as exc:
        fail(exc)
    _emit(res, json_path)


@design_app.command("counts")
def counts_cmd(
    rate1: float | None = typer.Option(None, help="Event rate, aHSCT arm (omit to solve)."),
    rate2: float = typer.Option(..., help="Event rate, control arm (e.g. ARR)."),
    n: float | None = typer.Option(None, help="Total patients (omit to solve)."),
    power: float | None = typer.Option(None, help="Power (omit to solve)."),
    exposure: float = typer.Option(1.0, help="Mean exposure per patient (rate time unit)."),
    dispersion: float = typer.Option(0.0, help="Negative-binomial dispersion k."),
    rr0: float = typer.Option(1.0, help="Null rate ratio."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    sided: int = typer.Option(2, help="1 or 2."),
    ratio: float = typer.Option(1.0, help="Allocation n1/n2."),
    null_variance: str = typer.Option("alternative", help="alternative, control or restricted."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Negative-binomial event rates (e.g. relapses), Zhu & Lakkis (2014).

    Example: hsctms design counts --rate1 0.1 --rate2 0.3 --exposure 2 --dispersion 0.8 --power 0.8
    """
    from hsctms.design import CountModel, Testing, counts_design

    try:
        res = counts_design(rate1, rate2, n=n, power=power,
                            testing=Testing(alpha, sided, margin=rr0), ratio=ratio,
                            model=CountModel(exposure=exposure, dispersion=dispersion),
                            null_variance=null_variance)
    except HsctmsError as exc:
        fail(exc)
    _emit(res, json_path)


@design_app.command("gsd")
def gsd_cmd(
    k: int | None = typer.Option(None, help="Number of equally spaced analyses."),
    info: str | None = typer.Option(None, help="Information fractions, e.g. 0.5,1."),
    alpha: float = typer.Option(0.025, help="Alpha (one-sided level when --sided 1)."),
    beta: float | None = typer.Option(None, help="Type II error (default 0.2; or --power)."),
    power: float | None = typer.Option(None, help="Power = 1 - beta (or --beta, not both)."),
    sided: int = typer.Option(1, help="1 or 2 (symmetric)."),
    spending: str = typer.Option(
        "obf", help="Efficacy bounds: obf, pocock, kd, hsd (spending; kd/hsd need --gamma), "
                    "hp (Haybittle-Peto) or wt (Wang-Tsiatis, needs --delta)."),
    gamma: float | None = typer.Option(None, help="gamma of kd / hsd spending (rpact gammaA)."),
    delta: float | None = typer.Option(None, help="Wang-Tsiatis delta (rpact deltaWT)."),
    hp_bound: float = typer.Option(3.0, help="Haybittle-Peto interim z-bound."),
    futility: str | None = typer.Option(None, help="Beta spending: obf, pocock, kd or hsd."),
    futility_gamma: float | None = typer.Option(None, help="gamma of kd / hsd beta spending."),
    binding: bool = typer.Option(
        False, "--binding-futility/--non-binding-futility",
        help="Binding futility (efficacy bounds assume futility stops); default non-binding."),
    fixed_n: float | None = typer.Option(None, help="Fixed-design n or events, to scale."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Group-sequential boundaries, inflation factor and futility bounds.

    Example: hsctms design gsd --info 0.5,1 --futility obf --power 0.9 --fixed-n 200
    """
    from hsctms.design import Boundary, Futility, group_sequential
    from hsctms.design.gsd import type_ii_error

    try:
        bound = Boundary(spending, gamma=gamma, delta=delta, interim_bound=hp_bound)
        fut = None if futility in (None, "none") else Futility(
            str(futility), gamma=futility_gamma, binding=binding)
        res = group_sequential(_floats(info) if info else None, k=k, alpha=alpha,
                               beta=type_ii_error(beta=beta, power=power), sided=sided,
                               spending_function=bound, futility=fut)
    except HsctmsError as exc:
        fail(exc)
    console.print(res.summary, highlight=False)
    for j in range(res.k):
        fut_text = "" if res.futility is None else f"  futility z {res.futility[j]:.4f}"
        console.print(f"  analysis {j + 1}: t={res.info_rates[j]:.3f}  efficacy z "
                      f"{res.efficacy[j]:.4f}{fut_text}", highlight=False)
    payload = res.to_dict()
    if fixed_n is not None:
        payload["fixed_size"] = fixed_n
        payload["max_size"] = res.max_sample_size(fixed_n)
        payload["stage_sizes"] = res.stage_sizes(fixed_n).tolist()
        console.print(f"maximum size {res.max_sample_size(fixed_n):.1f} (fixed {fixed_n:g})",
                      highlight=False)
    if json_path is not None:
        write_json(json_path, payload)


@design_app.command("means")
def means_cmd(
    difference: float | None = typer.Option(
        None, help="mu1 - mu2 under H1, e.g. -0.3 EDSS points (omit to solve for it)."),
    sd: float = typer.Option(1.0, help="Common standard deviation."),
    n: float | None = typer.Option(None, help="Total patients (omit to solve for n)."),
    power: float | None = typer.Option(None, help="Power (omit to solve for power)."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    sided: int = typer.Option(2, help="1 or 2."),
    margin: float = typer.Option(0.0, help="Null value of mu1 - mu2 (NI margin)."),
    alternative: str | None = typer.Option(None, help="greater or less (default: inferred)."),
    ratio: float = typer.Option(1.0, help="Allocation n1/n2."),
    normal: bool = typer.Option(False, "--normal", help="Normal approximation (default t)."),
    k: int | None = typer.Option(None, help="Group-sequential: equally spaced analyses."),
    info: str | None = typer.Option(None, help="Group-sequential: information fractions."),
    spending: str = typer.Option("obf", help="Group-sequential: obf, pocock, kd, hsd, hp, wt."),
    gamma: float | None = typer.Option(None, help="gamma of kd / hsd spending."),
    delta: float | None = typer.Option(None, help="Wang-Tsiatis delta."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Two means (e.g. EDSS change): t-test or normal, fixed or group-sequential (as rpact).

    Example: hsctms design means --difference -0.3 --sd 1 --power 0.8 --k 3
    """
    from hsctms.design import Boundary, Testing, group_sequential, two_means
    from hsctms.design.gsd import type_ii_error

    try:
        testing = Testing(alpha, sided, margin=margin,
                          alternative=alternative)  # type: ignore[arg-type]
        design = None
        if k is not None or info is not None:
            design = group_sequential(
                _floats(info) if info else None, k=k, alpha=alpha, sided=sided,
                beta=type_ii_error(power=power), spending_function=Boundary(
                    spending, gamma=gamma, delta=delta))
        res = two_means(difference, sd=sd, n=n, power=power, testing=testing, ratio=ratio,
                        normal_approximation=normal, design=design)
    except HsctmsError as exc:
        fail(exc)
    _emit(res, json_path)


@design_app.command("simulate")
def simulate_cmd(
    endpoint: str = typer.Option("proportion", help="proportion, counts or survival."),
    n_treatment: int = typer.Option(..., help="Patients in the aHSCT arm."),
    n_control: int = typer.Option(..., help="Patients in the control arm."),
    p_treatment: float | None = typer.Option(None, help="P(success), aHSCT (proportion)."),
    p_control: float | None = typer.Option(None, help="P(success), control (proportion)."),
    rate_treatment: float | None = typer.Option(None, help="Rate per year, aHSCT (counts)."),
    rate_control: float | None = typer.Option(None, help="Rate per year, control (counts)."),
    dispersion: float = typer.Option(0.0, help="NB dispersion k (counts)."),
    hr: float | None = typer.Option(None, help="Hazard ratio (survival)."),
    control_rate: float | None = typer.Option(None, help="Control hazard per year (survival)."),
    horizon: float = typer.Option(2.0, help="Follow-up per patient, years."),
    accrual: float = typer.Option(2.0, help="Accrual, years (survival)."),
    follow_up: float = typer.Option(2.0, help="Follow-up after accrual, years (survival)."),
    null_value: float | None = typer.Option(None, help="Margin / null ratio."),
    alpha: float = typer.Option(0.05, help="Significance level."),
    sided: int = typer.Option(2, help="1 or 2."),
    dropout_rate: float = typer.Option(0.0, help="Loss-to-follow-up hazard per year."),
    crossover: float = typer.Option(0.0, help="Fraction of controls crossing to aHSCT."),
    early_death: float = typer.Option(0.0, help="P(treatment-related death), aHSCT arm."),
    trials: int = typer.Option(10_000, help="Number of simulated trials."),
    seed: int | None = typer.Option(None, help="Random seed."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Simulate whole trials: power, type I error and bias with Monte Carlo SEs.

    Example: hsctms design simulate --n-treatment 60 --n-control 60 --p-treatment .8 --p-control .55
    """
    from hsctms.design.simulate import Scenario, simulate_trials

    try:
        sc = Scenario(endpoint, n_treatment, n_control, p_treatment=p_treatment,
                      p_control=p_control, rate_treatment=rate_treatment,
                      rate_control=rate_control, dispersion=dispersion, hr=hr,
                      control_rate=control_rate, horizon=horizon, accrual=accrual,
                      follow_up=follow_up, null_value=null_value, alpha=alpha, sided=sided,
                      dropout_rate=dropout_rate, crossover=crossover, early_death=early_death)
        with progress_display(f"simulating {trials} trials") as show:
            res = simulate_trials(sc, trials, seed=seed, progress=show)
    except HsctmsError as exc:
        fail(exc)
    _emit(res, json_path)


@design_app.command("presets")
def presets_cmd() -> None:
    """List the design presets and the files they are read from.

    Example: hsctms design presets
    """
    from hsctms.design.presets import PRESETS

    for key, p in PRESETS.items():
        console.print(f"[bold]{key}[/]: {p.title}  ({p.source_file})", highlight=False)


@design_app.command("preset")
def preset_cmd(
    name: str = typer.Argument(..., help="zeus, mist, starms, or the path of a preset .yaml "
                                          "file (docs/trial-design.md)."),
    out: Path | None = OUT_OPT,
    trials: int = typer.Option(2000, help="Simulated trials per scenario."),
    engine_trials: int = typer.Option(
        200, help="Trials for the (slower) endpoint-engine scenarios; 0 skips them."),
    seed: int = typer.Option(1, help="Random seed of the simulations."),
    json_path: Path | None = JSON_OPT,
) -> None:
    """Evaluate a preset design (packaged or your own .yaml file) and write its report.

    Example: hsctms design preset zeus --out zeus.html --json zeus.json
    """
    from hsctms.design.presets import evaluate_preset

    try:
        check_output_files(out, json_path)
        with progress_display(f"evaluating {name} ({trials} trials per scenario)") as show:
            res = evaluate_preset(name, n_trials=trials, seed=seed, engine_trials=engine_trials,
                                  progress=show)
            if out is not None:
                from hsctms.design.report import write_preset_report

                show("writing the report")
                path = write_output(out, lambda tmp: write_preset_report(res, tmp,
                                                                         progress=show))
        _emit(res, json_path)
        if out is not None:
            console.print(f"Report written to {path}", highlight=False)
    except HsctmsError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add the ``design`` sub-app."""
    app.add_typer(design_app, name="design")
