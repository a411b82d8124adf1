#!/usr/bin/env bash
# Regenerate the committed golden JSON files from R (metafor 3.8.1, R 4.2 on this machine).
# tests/meta/test_reference.py re-runs the same commands when Rscript is present.
set -euo pipefail
cd "$(dirname "$0")"
for f in meta_trm meta_neda meta_rare; do
  Rscript meta_oracle.R "$f.csv" --moderators=year,edss --group=era --poisson=year,edss > "$f.json"
done
Rscript meta_oracle.R evidence_trm.csv --moderators=pub_year --group=intensity --poisson=pub_year \
  > evidence_trm.json
Rscript meta_oracle.R sormani_trm.csv --moderators=pub_year --group=era --poisson=pub_year > sormani_trm.json
