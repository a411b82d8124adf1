#!/usr/bin/env Rscript
# Golden values for hsctms.survival, printed as JSON on stdout.
#
# Usage:
#   Rscript survival_reference.R DATA.csv --times=12,24,36 --levels=0.9,0.95 --tau=60 \
#           [--covariates=group,age,edss] [--factors=group]
#
# DATA.csv columns: time, event (0 censored, 1 event of interest, 2 competing event),
# group; optional stratum and covariate columns.
# KM, log-rank and Cox use any non-zero event (composite endpoint: event-free survival).
# Competing-risk quantities (Aalen-Johansen via survfit multi-state, cmprsk::cuminc and
# Gray's test) are computed when event code 2 is present.
#
# Committed outputs: golden_<dataset>.json (see README.md); tests re-run this script when
# Rscript is available and compare with both the fresh and the committed values.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
path <- args[1]
opt <- function(name, default) {
  hit <- grep(paste0("^--", name, "="), args, value = TRUE)
  if (length(hit)) sub(paste0("^--", name, "="), "", hit[1]) else default
}
splitnum <- function(x) as.numeric(strsplit(x, ",")[[1]])
times <- splitnum(opt("times", "12,24,36"))
levels <- splitnum(opt("levels", "0.9,0.95"))
tau <- as.numeric(opt("tau", "60"))
covariates <- strsplit(opt("covariates", "group"), ",")[[1]]
factors <- strsplit(opt("factors", "group"), ",")[[1]]

d <- read.csv(path, stringsAsFactors = FALSE)
d$status <- as.integer(d$event != 0)
d$group <- factor(d$group)
has_strata <- "stratum" %in% names(d)
for (f in factors) d[[f]] <- factor(d[[f]])

# ------------------------------------------------------------------ Kaplan-Meier
km_block <- function(sub) {
  out <- list(n = nrow(sub), events = sum(sub$status))
  f <- survfit(Surv(time, status) ~ 1, data = sub)
  s <- summary(f, times = times, extend = TRUE)
  out$times <- s$time
  out$surv <- s$surv
  out$std_err <- s$std.err
  out$n_risk <- s$n.risk
  out$cum_events <- sapply(times, function(t) sum(sub$status[sub$time <= t]))
  out$ci <- list()
  out$median <- list(estimate = unname(quantile(f, probs = 0.5, conf.int = FALSE)))
  for (ct in c("log", "log-log", "plain")) {
    for (lv in levels) {
      fc <- survfit(Surv(time, status) ~ 1, data = sub, conf.type = ct, conf.int = lv)
      sc <- summary(fc, times = times, extend = TRUE)
      key <- sprintf("%s_%g", ct, lv)
      out$ci[[key]] <- list(lower = sc$lower, upper = sc$upper)
      q <- quantile(fc, probs = 0.5, conf.int = TRUE)
      out$median[[key]] <- list(lower = unname(q$lower), upper = unname(q$upper))
    }
  }
  tab <- summary(f, rmean = tau)$table
  out$rmean <- list(tau = tau, estimate = unname(tab["rmean"]), se = unname(tab["se(rmean)"]))
  # median follow-up by reverse Kaplan-Meier
  rf <- survfit(Surv(time, 1 - status) ~ 1, data = sub)
  out$reverse_km_median <- unname(quantile(rf, probs = 0.5, conf.int = FALSE))
  out
}
km <- list(overall = km_block(d))
for (g in levels(d$group)) km[[paste0("group_", g)]] <- km_block(d[d$group == g, ])

# ---------------------------------------------------------------------- log-rank
lr_block <- function(fit) {
  k <- length(fit$n)
  list(chisq = unname(fit$chisq), df = k - 1,
       p = pchisq(fit$chisq, k - 1, lower.tail = FALSE),
       observed = unname(if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs),
       expected = unname(if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp))
}
logrank <- lr_block(survdiff(Surv(time, status) ~ group, data = d))
logrank_strat <- NULL
if (has_strata) logrank_strat <- lr_block(survdiff(Surv(time, status) ~ group + strata(stratum), data = d))

# --------------------------------------------------------------------------- Cox
form <- as.formula(paste("Surv(time, status) ~", paste(covariates, collapse = " + ")))
m <- coxph(form, data = d, ties = "efron")
s <- summary(m)
co <- s$coefficients
cox <- list(term = rownames(co), coef = unname(co[, "coef"]), se = unname(co[, "se(coef)"]),
            z = unname(co[, "z"]), p = unname(co[, "Pr(>|z|)"]), hr = unname(co[, "exp(coef)"]),
            loglik = unname(m$loglik), n = m$n, nevent = m$nevent, hr_ci = list())
for (lv in levels) {
  ci <- exp(confint(m, level = lv))
  cox$hr_ci[[sprintf("%g", lv)]] <- list(lower = unname(ci[, 1]), upper = unname(ci[, 2]))
}
zph_block <- function(tr, terms) {
  z <- cox.zph(m, transform = tr, terms = terms)
  list(name = rownames(z$table), chisq = unname(z$table[, "chisq"]),
       df = unname(z$table[, "df"]), p = unname(z$table[, "p"]))
}
cox$zph <- list(km = zph_block("km", TRUE), identity = zph_block("identity", TRUE),
                km_columns = zph_block("km", FALSE))
# scaled Schoenfeld residuals (one column per coefficient) against KM-transformed time
zc <- cox.zph(m, transform = "km", terms = FALSE)
cox$zph_residuals <- list(time = unname(zc$time), x = unname(zc$x),
                          y = lapply(seq_len(ncol(zc$y)), function(j) unname(zc$y[, j])))

# ------------------------------------------------------------- competing risks
cif <- NULL
gray <- NULL
if (any(d$event == 2)) {
  d$state <- factor(d$event, 0:2, c("censor", "ev1", "ev2"))
  aj_block <- function(sub) {
    out <- list()
    for (ct in c("log", "log-log")) for (lv in levels) {
      f <- survfit(Surv(time, state) ~ 1, data = sub, conf.int = lv, conf.type = ct)
      s <- summary(f, times = times, extend = TRUE)
      out$times <- s$time
      out$ev1 <- unname(s$pstate[, 2])
      out$ev2 <- unname(s$pstate[, 3])
      out$se_ev1 <- unname(s$std.err[, 2])
      out$se_ev2 <- unname(s$std.err[, 3])
      out$n_risk <- unname(s$n.risk[, 1])
      out$ci[[sprintf("%s_%g", ct, lv)]] <- list(
        lower_ev1 = unname(s$lower[, 2]), upper_ev1 = unname(s$upper[, 2]),
        lower_ev2 = unname(s$lower[, 3]), upper_ev2 = unname(s$upper[, 3]))
    }
    out
  }
  cif <- list(overall = aj_block(d))
  for (g in levels(d$group)) cif[[paste0("group_", g)]] <- aj_block(d[d$group == g, ])
  ci <- cuminc(d$time, d$event, group = d$group, cencode = 0)
  tp <- timepoints(ci, times)
  cif$cmprsk <- list()
  for (nm in rownames(tp$est)) cif$cmprsk[[nm]] <- list(est = unname(tp$est[nm, ]), var = unname(tp$var[nm, ]))
  tests <- function(obj) {
    tt <- obj$Tests
    out <- list()
    for (r in rownames(tt)) out[[paste0("cause_", r)]] <- list(stat = unname(tt[r, "stat"]), p = unname(tt[r, "pv"]), df = unname(tt[r, "df"]))
    out
  }
  gray <- list(rho0 = tests(ci), rho1 = tests(cuminc(d$time, d$event, group = d$group, cencode = 0, rho = 1)))
  if (has_strata) gray$strata_rho0 <- tests(cuminc(d$time, d$event, group = d$group, strata = d$stratum, cencode = 0))
}

out <- list(
  meta = list(file = basename(path), times = times, levels = levels, tau = tau,
              covariates = covariates, factors = factors, r = R.version.string,
              survival = as.character(packageVersion("survival")),
              cmprsk = as.character(packageVersion("cmprsk"))),
  km = km, logrank = logrank, logrank_strat = logrank_strat, cox = cox, cif = cif, gray = gray)
cat(toJSON(out, auto_unbox = FALSE, digits = NA, null = "null", na = "null", pretty = TRUE), "\n")
