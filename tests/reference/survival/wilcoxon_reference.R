#!/usr/bin/env Rscript
# Golden values for hsctms.analysis.edss_change.signed_rank_test: R wilcox.test(x, mu = 0)
# on the EDSS-change vectors in wilcoxon_cases.json; prints JSON on stdout.
# Usage: Rscript wilcoxon_reference.R wilcoxon_cases.json > golden_wilcoxon.json
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
cases <- fromJSON(args[1], simplifyVector = TRUE)
out <- list()
for (nm in names(cases)) {
  x <- as.numeric(cases[[nm]])
  r <- suppressWarnings(wilcox.test(x, mu = 0))
  out[[nm]] <- list(statistic = unname(r$statistic), p = r$p.value)
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")
