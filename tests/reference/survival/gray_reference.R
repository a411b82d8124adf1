#!/usr/bin/env Rscript
# Golden values for hsctms.survival.gray_test on small edge cases (gray_cases.json):
# R cmprsk::cuminc(time, event, group, rho)$Tests for causes 1 and 2, rho 0 and 1.
# Usage: Rscript gray_reference.R gray_cases.json > golden_gray_cases.json
suppressPackageStartupMessages({library(cmprsk); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
cases <- fromJSON(args[1], simplifyVector = TRUE)
out <- list()
for (nm in names(cases)) {
  d <- cases[[nm]]
  one <- list()
  for (rho in c(0, 1)) {
    tst <- cuminc(as.numeric(d$time), as.integer(d$event), d$group, rho = rho)$Tests
    for (cause in rownames(tst)) {
      s <- tst[cause, "stat"]
      one[[sprintf("rho%g_cause%s", rho, cause)]] <- list(
        stat = if (is.finite(s)) s else NULL, p = if (is.finite(s)) tst[cause, "pv"] else NULL,
        df = tst[cause, "df"])
    }
  }
  out[[nm]] <- one
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "\n")
