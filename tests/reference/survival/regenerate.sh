#!/bin/sh
# Regenerate the committed golden JSON files from the R script (needs R with survival,
# cmprsk and jsonlite). Run from anywhere.
set -e
cd "$(dirname "$0")"
Rscript survival_reference.R cr3.csv --times=12,24,36,48 --levels=0.9,0.95 --tau=60 \
  --covariates=group,age,edss --factors=group > golden_cr3.json
Rscript survival_reference.R surv2.csv --times=36,60 --levels=0.9,0.95 --tau=60 \
  --covariates=group --factors=group > golden_surv2.json
Rscript survival_reference.R lung.csv --times=180,365,730 --levels=0.9,0.95 --tau=730 \
  --covariates=age,group,ph_ecog --factors=group > golden_lung.json
Rscript wilcoxon_reference.R wilcoxon_cases.json > golden_wilcoxon.json
Rscript gray_reference.R gray_cases.json > golden_gray_cases.json
