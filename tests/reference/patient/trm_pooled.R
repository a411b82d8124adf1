# Reference values for hsctms.patient.estimates pooled transplant-related mortality.
#
# Usage: Rscript trm_pooled.R input.csv output.json
# input.csv: columns group, study, deaths, n (one row per study and group).
# For each group: intercept-only Poisson GLM of deaths with offset log(n)
# (quasipoisson when the group has >= 2 studies, poisson for one study), Wald 95% CI
# (confint.default), rate = exp(coef) * 100; groups without any death get null.
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
out <- list()
for (g in unique(d$group)) {
  s <- d[d$group == g, ]
  if (sum(s$deaths) == 0) {
    out[[g]] <- list(per100 = NULL, lo = NULL, hi = NULL, k = nrow(s))
    next
  }
  fam <- if (nrow(s) >= 2) quasipoisson() else poisson()
  fit <- glm(deaths ~ 1 + offset(log(n)), family = fam, data = s)
  ci <- confint.default(fit)
  out[[g]] <- list(per100 = 100 * exp(unname(coef(fit)[1])),
                   lo = 100 * exp(ci[1, 1]), hi = 100 * exp(ci[1, 2]), k = nrow(s))
}
meta <- list(R = R.version.string, call = "glm(deaths ~ 1 + offset(log(n)), quasipoisson)")
writeLines(toJSON(list(meta = meta, groups = out), auto_unbox = TRUE, digits = NA,
                  null = "null", pretty = TRUE), args[2])
