# Golden values for hsctms.web.funnel: Cox (Breslow) expected events per patient, observed and
# expected per centre, and interpolated exact Poisson control limits (Spiegelhalter 2005).
# Usage: Rscript funnel.R casemix_demo.csv golden_funnel.json
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
fit <- coxph(Surv(time, event) ~ age + baseline_edss + progressive + disease_duration,
             data = d, ties = "breslow")
e <- predict(fit, type = "expected")
by_centre <- aggregate(cbind(observed = d$event, expected = e), list(centre = d$centre), sum)
limit <- function(E, p) {
  q <- qpois(p, E)
  fq <- ppois(q, E); fq1 <- ppois(q - 1, E)
  alpha <- ifelse(fq - fq1 > 0, (fq - p) / (fq - fq1), 0)
  pmax(q - alpha, 0) / E
}
grid <- c(0.7, 1, 2.5, 5, 10.3, 25, 60)
out <- list(
  coef = as.list(coef(fit)),
  expected = unname(e),
  centres = by_centre,
  limits = list(E = grid, p025 = limit(grid, 0.025), p975 = limit(grid, 0.975),
                p001 = limit(grid, 0.001), p999 = limit(grid, 0.999)),
  R = R.version.string, survival = as.character(packageVersion("survival")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), args[2])
