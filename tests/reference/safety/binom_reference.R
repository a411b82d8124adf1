# Exact (Clopper-Pearson) intervals of R's binom.test, the reference for
# hsctms.analysis.tables.share.
# Usage: Rscript binom_reference.R CASES.json  -> JSON on stdout
# CASES.json: [{"events": x, "n": n, "level": 0.95}, ...]
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
cases <- fromJSON(args[1], simplifyDataFrame = FALSE)
out <- lapply(cases, function(c) {
  b <- binom.test(c$events, c$n, conf.level = c$level)
  list(events = c$events, n = c$n, level = c$level,
       estimate = unname(b$estimate), lower = b$conf.int[1], upper = b$conf.int[2])
})
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
