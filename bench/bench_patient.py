"""Benchmark: the patient report (``hsctms expect``), stage by stage.

Stages timed: eligibility against all packaged criteria sets (profiles per second), evidence
selection for a stratum (first call and cached call, as the web app sees them), HTML rendering,
and PDF with both engines of :func:`hsctms.reports.render.write_pdf` (Chromium
``--print-to-pdf``, the default when a Chromium is found, and WeasyPrint, the fallback). Peer
for the PDF step: headless Chromium driven by Playwright printing the same HTML
(``page.pdf()``, browser already running) in the same run. Last, the whole command
``hsctms expect PROFILE --out report.pdf`` (a fresh process: imports, report, PDF), goal < 5 s.
No peer exists for the eligibility engine or the evidence selection (no other tool does this);
their absolute throughput is reported.

Usage::

    .venv/bin/python bench/bench_patient.py [--repeat 5] [--no-chromium]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-chromium", action="store_true")
    args = ap.parse_args()

    from hsctms.eligibility import assess_eligibility, criteria_sets
    from hsctms.evidence import load_evidence
    from hsctms.patient import estimates as est_mod
    from hsctms.patient import load_profile
    from hsctms.patient.report import build_report, render_patient_report
    from hsctms.reports.render import find_chromium, write_pdf

    profiles = [load_profile(p) for p in sorted((REPO / "examples" / "profiles").glob("*.json"))]
    ev = load_evidence()
    n_sets = len(criteria_sets())

    reps = 200
    t_elig = _median(lambda: [assess_eligibility(p) for p in profiles for _ in range(reps // 5)],
                     args.repeat)
    per_s = len(profiles) * (reps // 5) / t_elig
    print(f"eligibility: {per_s:,.0f} profiles/s against {n_sets} criteria sets")

    def cold() -> None:
        est_mod._CACHE.clear()
        est_mod.personal_estimates(profiles[0], ev)

    t_cold = _median(cold, args.repeat)
    est_mod.personal_estimates(profiles[0], ev)
    t_warm = _median(lambda: est_mod.personal_estimates(profiles[0], ev), args.repeat)
    print(f"evidence selection: first call {t_cold * 1000:.0f} ms, cached "
          f"{t_warm * 1000:.1f} ms (x{t_cold / t_warm:.0f} faster)")

    report = build_report(profiles[0], ev)
    t_html = _median(lambda: render_patient_report(report), args.repeat)
    html = render_patient_report(report)
    print(f"HTML render: {t_html * 1000:.0f} ms ({len(html) / 1e3:.0f} kB)")

    print(f"load average at start of the PDF steps: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.pdf"
        t_weasy = _median(lambda: write_pdf(html, out, engine="weasyprint"),
                          max(1, args.repeat // 2))
        print(f"PDF (hsctms, WeasyPrint engine): {t_weasy:.2f} s")
        chromium = find_chromium() or shutil.which("chromium")
        if args.no_chromium or not chromium:
            print("PDF (hsctms, Chromium engine) and peer (Chromium page.pdf): skipped")
            return 0
        t_cli = _median(lambda: write_pdf(html, out, engine="chromium"),
                        max(1, args.repeat // 2))
        print(f"PDF (hsctms, Chromium engine, browser started per report): {t_cli:.2f} s; "
              f"WeasyPrint / Chromium engine = {t_weasy / t_cli:.1f}")
        profile = REPO / "examples" / "profiles" / "young-rrms-high-activity.json"
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}

        def command() -> None:
            target = Path(tmp) / f"cmd-{time.perf_counter_ns()}.pdf"
            subprocess.run([sys.executable, "-m", "hsctms", "expect", str(profile), "--out",
                            str(target)], check=True, capture_output=True, env=env)

        t_cmd = _median(command, max(1, args.repeat // 2))
        print(f"hsctms expect ... --out report.pdf (whole command): {t_cmd:.2f} s "
              f"(goal < 5 s: {'met' if t_cmd < 5 else 'NOT met'})")
        from playwright.sync_api import sync_playwright

        src = Path(tmp) / "r.html"
        src.write_text(html, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = browser.new_page()

            def chrome_pdf() -> None:
                page.goto(src.as_uri())
                page.pdf(path=str(Path(tmp) / "c.pdf"), format="A4")

            t_chrome = _median(chrome_pdf, max(1, args.repeat // 2))
            browser.close()
        print(f"PDF peer (Playwright page.pdf, browser running): {t_chrome:.2f} s; "
              f"hsctms Chromium engine / peer = {t_cli / t_chrome:.1f}, "
              f"WeasyPrint / peer = {t_weasy / t_chrome:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
