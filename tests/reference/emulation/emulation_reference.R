# R reference values for the hsctms.emulation tests.
# Usage: Rscript emulation_reference.R frame.csv > golden.json
# Needs MatchIt, sandwich, MASS, survival, jsonlite (Debian: r-cran-matchit, r-cran-sandwich,
# r-cran-mass, r-cran-survival, r-cran-jsonlite).
suppressPackageStartupMessages({
  library(MatchIt); library(sandwich); library(MASS); library(survival); library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
rownames(d) <- as.character(seq_len(nrow(d)))
covs <- c("age", "edss", "relapses_2y", "female", "mri_active")
f <- reformulate(covs, response = "treat")
num <- function(x) { x <- unname(x); x[!is.finite(x)] <- NA; x }

ps_fit <- glm(f, data = d, family = binomial)
ps <- unname(fitted(ps_fit))
out <- list(
  versions = list(MatchIt = as.character(packageVersion("MatchIt")),
                  sandwich = as.character(packageVersion("sandwich")),
                  MASS = as.character(packageVersion("MASS")),
                  survival = as.character(packageVersion("survival"))),
  ps = list(coef = num(coef(ps_fit)), se = num(sqrt(diag(vcov(ps_fit)))), score = ps)
)

tab <- function(s) {
  list(rows = rownames(s), mean_treated = num(s[, "Means Treated"]),
       mean_control = num(s[, "Means Control"]), smd = num(s[, "Std. Mean Diff."]),
       var_ratio = num(s[, "Var. Ratio"]))
}
cases <- list(
  list(name = "nn11", ratio = 1, replace = FALSE, caliper = NULL, link = "logit", m.order = "largest"),
  list(name = "nn11_cal_logit", ratio = 1, replace = FALSE, caliper = 0.2, link = "linear.logit", m.order = "largest"),
  list(name = "nn12_cal", ratio = 2, replace = FALSE, caliper = 0.25, link = "logit", m.order = "largest"),
  list(name = "nn11_replace", ratio = 1, replace = TRUE, caliper = NULL, link = "logit", m.order = "largest"),
  list(name = "nn11_replace_cal_logit", ratio = 1, replace = TRUE, caliper = 0.05, link = "linear.logit", m.order = "largest"),
  list(name = "nn11_smallest_cal", ratio = 1, replace = FALSE, caliper = 0.1, link = "logit", m.order = "smallest"),
  list(name = "nn11_data", ratio = 1, replace = FALSE, caliper = NULL, link = "logit", m.order = "data")
)
# Matching is run on the score or logit in integer units of 1e-6 (round(x * 1e6)), given as a
# numeric distance: Debian's MatchIt 4.5.1 build compares distances with the C integer abs(),
# which truncates |difference| < 1 to 0 (always the lower neighbour, no caliper on the score
# scale); upstream fixed this with std::abs in MatchIt 4.5.3 (commit 4b5b2f8, 2023-05-01).
# On integer-valued distances both comparisons are exact, so these sets are MatchIt's intended
# ones. With replacement only 1:1 is compared: 4.5.1 also reuses one control for all k matches
# of a treated unit when replace = TRUE and ratio > 1 (MatchIt NEWS 4.5.3, issue #159); that
# case is tested in Python against a brute-force k-nearest search.
out$matching <- lapply(cases, function(cs) {
  x <- if (cs$link == "logit") ps else qlogis(ps)
  dist <- round(x * 1e6)
  m <- matchit(f, data = d, method = "nearest", distance = dist,
               ratio = cs$ratio, replace = cs$replace, caliper = cs$caliper,
               m.order = cs$m.order)
  mm <- m$match.matrix
  mmi <- matrix(as.integer(mm) - 1L, nrow = nrow(mm))
  mmi[is.na(mmi)] <- -1L
  s <- summary(m, standardize = TRUE)
  list(name = cs$name, ratio = cs$ratio, replace = cs$replace,
       caliper = if (is.null(cs$caliper)) NA else cs$caliper,
       distance = if (cs$link == "logit") "score" else "logit", m_order = cs$m.order,
       distance_values = dist,
       match_matrix = mmi, weights = unname(m$weights),
       before = tab(s$sum.all), after = tab(s$sum.matched))
})

# outcomes on a matched sample (1:2 with caliper), clustered by matched set (subclass)
m <- matchit(f, data = d, method = "nearest", distance = round(ps * 1e6), ratio = 2,
             caliper = 0.25)
md <- match.data(m)
cx <- coxph(Surv(time, event) ~ treat, data = md, weights = weights, cluster = subclass)
nbm <- suppressWarnings(glm.nb(relapses ~ treat + offset(log(exposure)), data = md,
                               weights = weights,
                               control = glm.control(epsilon = 1e-12, maxit = 100)))
out$matched_outcomes <- list(
  cox = list(coef = num(coef(cx)), se = num(sqrt(diag(vcov(cx))))),
  negbin = list(coef = num(coef(nbm)), se_cl = num(sqrt(diag(vcovCL(nbm, cluster = ~subclass)))),
                theta = nbm$theta))

# propensity weights
t <- d$treat
w_ate <- t / ps + (1 - t) / (1 - ps)
w_att <- t + (1 - t) * ps / (1 - ps)
w_ato <- t * (1 - ps) + (1 - t) * ps
bal <- function(w, denom) {
  X <- cbind(distance = ps, as.matrix(d[covs]))
  res <- t(vapply(colnames(X), function(v) MatchIt:::bal1var(X[, v], t, ww = w,
       s.weights = rep(1, nrow(d)), s.d.denom = denom, standardize = TRUE,
       compute.pair.dist = FALSE)[1:4], numeric(4)))
  tab(res)
}
out$weighting <- list(
  ATE = list(weights = w_ate, balance = bal(w_ate, "pooled")),
  ATT = list(weights = w_att, balance = bal(w_att, "treated")),
  ATO = list(weights = w_ato, balance = bal(w_ato, "pooled"))
)

# count models: ATE weights; HC0 and cluster (centre) robust
counts <- function(fit) {
  list(coef = num(coef(fit)), se_hc0 = num(sqrt(diag(vcovHC(fit, type = "HC0")))),
       se_cl = num(sqrt(diag(vcovCL(fit, cluster = ~centre)))))
}
d$w <- w_ate
pois <- suppressWarnings(glm(relapses ~ treat + edss + offset(log(exposure)), data = d,
                             family = poisson, weights = w,
                             control = glm.control(epsilon = 1e-12, maxit = 100)))
nb <- suppressWarnings(glm.nb(relapses ~ treat + edss + offset(log(exposure)), data = d,
                              weights = w, control = glm.control(epsilon = 1e-12, maxit = 100)))
nb1 <- glm.nb(relapses ~ treat + offset(log(exposure)), data = d,
              control = glm.control(epsilon = 1e-12, maxit = 100))
out$poisson <- counts(pois)
out$negbin <- c(counts(nb), theta = nb$theta)
out$negbin_unweighted <- c(counts(nb1), theta = nb1$theta)

# weighted Cox with robust variance
cox <- function(ties, cluster, formula = Surv(time, event) ~ treat + edss) {
  fit <- if (cluster) coxph(formula, data = d, weights = w, ties = ties, cluster = centre)
         else coxph(formula, data = d, weights = w, ties = ties, robust = TRUE)
  list(coef = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
       naive_se = num(sqrt(diag(fit$naive.var))), loglik = fit$loglik[2])
}
out$cox <- list(efron = suppressWarnings(cox("efron", FALSE)),
                breslow = suppressWarnings(cox("breslow", FALSE)),
                efron_cluster = suppressWarnings(cox("efron", TRUE)))

# heavy ties: time rounded up to half-years, ATT weights, three covariates
d$time2 <- ceiling(d$time * 2) / 2
d$w_att <- w_att
tied <- function(ties, cluster) {
  fm <- Surv(time2, event) ~ treat + edss + relapses_2y
  fit <- if (cluster) coxph(fm, data = d, weights = w_att, ties = ties, cluster = centre)
         else coxph(fm, data = d, weights = w_att, ties = ties, robust = TRUE)
  list(coef = num(coef(fit)), se = num(sqrt(diag(vcov(fit)))),
       naive_se = num(sqrt(diag(fit$naive.var))), loglik = fit$loglik[2])
}
out$cox_tied <- list(efron = suppressWarnings(tied("efron", FALSE)),
                     breslow = suppressWarnings(tied("breslow", FALSE)),
                     efron_cluster = suppressWarnings(tied("efron", TRUE)))

# weighted Kaplan-Meier per arm
# (non-integer weights: R's default robust = TRUE, infinitesimal jackknife; unweighted:
# the Greenwood SE); conf.type "log" (default)
times <- c(0.5, 1, 2, 3, 5)
kmout <- function(km) {
  sk <- summary(km, times = times, extend = TRUE)
  list(times = times, strata = as.character(sk$strata), surv = sk$surv,
       se = sk$std.err, lower = sk$lower, upper = sk$upper)
}
out$km <- kmout(survfit(Surv(time, event) ~ treat, data = d, weights = w))
out$km_model <- kmout(survfit(Surv(time, event) ~ treat, data = d, weights = w,
                              robust = FALSE))
out$km_unweighted <- kmout(survfit(Surv(time, event) ~ treat, data = d))
out$km_tied <- kmout(survfit(Surv(time2, event) ~ treat, data = d, weights = w_att))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"))
