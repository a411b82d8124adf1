#!/usr/bin/env Rscript
# Golden values for hsctms.meta from R metafor (and base R glm / binom.test), printed as JSON.
#
# Usage:
#   Rscript meta_oracle.R DATA.csv [--moderators=year,edss|none] [--group=COLUMN|none]
#                                  [--poisson=year,edss|none] [--level=0.95] [--threshold=1e-10]
#
# DATA.csv columns: study, events, n (+ moderator and group columns).
# Conventions (metafor defaults, copied by hsctms.meta):
#   PLO: yi = log((x+a)/(n-x+a)), vi = 1/(x+a) + 1/(n-x+a); a = 0.5 only where x = 0 or x = n
#   PFT: metafor's halved Freeman-Tukey double arcsine, vi = 1/(4n+2); pooled values are
#        back-transformed with transf.ipft.hm (harmonic mean of n), study values with
#        transf.ipft and the study's own n.
#   Prediction interval: est +/- z * sqrt(se^2 + tau2) (test = "z"), t(k-1) with test = "knha".
# metafor's Fisher-scoring threshold is tightened from 1e-5 to 1e-10 so REML is the optimum.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: meta_oracle.R DATA.csv [options]")
path <- args[1]
opt <- function(name, default) {
  hit <- grep(paste0("^--", name, "="), args, value = TRUE)
  if (length(hit)) sub(paste0("^--", name, "="), "", hit[1]) else default
}
split_opt <- function(x) if (nzchar(x) && x != "none") strsplit(x, ",")[[1]] else character(0)
mods <- split_opt(opt("moderators", "year,edss"))
pmods <- split_opt(opt("poisson", "year,edss"))
group <- opt("group", "none")
level <- as.numeric(opt("level", "0.95"))
ctrl <- list(threshold = as.numeric(opt("threshold", "1e-10")), maxiter = 10000, stepadj = 0.5)

d <- read.csv(path, stringsAsFactors = FALSE)
stopifnot(all(c("study", "events", "n") %in% names(d)))
z <- qnorm(1 - (1 - level) / 2)

het <- function(m) list(tau2 = m$tau2, I2 = m$I2, H2 = m$H2, QE = m$QE, QEp = m$QEp, k = m$k)
core <- function(m) list(est = as.numeric(m$b), se = m$se, zval = m$zval, pval = m$pval,
                         ci_lb = m$ci.lb, ci_ub = m$ci.ub)

res <- list()
for (meas in c("PLO", "PFT")) {
  dat <- escalc(measure = meas, xi = events, ni = n, data = d)
  back <- if (meas == "PLO") transf.ilogit else transf.ipft.hm
  targs <- if (meas == "PFT") list(ni = d$n) else NULL
  study_back <- function(y) if (meas == "PLO") transf.ilogit(y) else transf.ipft(y, d$n)
  sci_lb <- dat$yi - z * sqrt(dat$vi)
  sci_ub <- dat$yi + z * sqrt(dat$vi)
  mres <- list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi),
               study_prop = study_back(dat$yi), study_ci_lb = study_back(sci_lb),
               study_ci_ub = study_back(sci_ub))
  for (meth in c("FE", "DL", "REML")) {
    m <- rma(yi, vi, data = dat, method = meth, level = level * 100, control = ctrl)
    p <- predict(m, transf = back, targs = targs)
    one <- c(core(m), het(m), list(weights = as.numeric(weights(m)),
             prop = p$pred, prop_ci_lb = p$ci.lb, prop_ci_ub = p$ci.ub))
    if (meth != "FE") {
      one$prop_pi_lb <- p$pi.lb
      one$prop_pi_ub <- p$pi.ub
      # Q-profile CIs of tau2, I2, H2 (root finding tightened from metafor's 1.2e-4 default)
      ci <- confint(m, control = list(tol = 1e-12))$random
      one$tau2_ci <- list(lb = ci["tau^2", "ci.lb"], ub = ci["tau^2", "ci.ub"])
      one$I2_ci <- list(lb = ci["I^2(%)", "ci.lb"], ub = ci["I^2(%)", "ci.ub"])
      one$H2_ci <- list(lb = ci["H^2", "ci.lb"], ub = ci["H^2", "ci.ub"])
      praw <- predict(m)
      one$pi_lb <- praw$pi.lb
      one$pi_ub <- praw$pi.ub
      mk <- rma(yi, vi, data = dat, method = meth, test = "knha", level = level * 100,
                control = ctrl)
      pk <- predict(mk, transf = back, targs = targs)
      pkr <- predict(mk)
      one$knha <- c(core(mk), list(prop = pk$pred, prop_ci_lb = pk$ci.lb, prop_ci_ub = pk$ci.ub,
                                   pi_lb = pkr$pi.lb, pi_ub = pkr$pi.ub))
    }
    # meta-regression and subgroups for every method, FE included (rma method = "FE")
    if (length(mods)) {
      f <- as.formula(paste("~", paste(mods, collapse = " + ")))
      mr <- rma(yi, vi, mods = f, data = dat, method = meth, level = level * 100,
                control = ctrl)
      one$metareg <- list(
        moderators = mods, term = rownames(mr$b), coef = as.numeric(mr$b), se = mr$se,
        zval = mr$zval, pval = mr$pval, ci_lb = mr$ci.lb, ci_ub = mr$ci.ub,
        tau2 = mr$tau2, I2 = mr$I2, H2 = mr$H2, R2 = mr$R2, QM = mr$QM, QMp = mr$QMp,
        QE = mr$QE, QEp = mr$QEp)
    }
    if (group != "none") {
      levs <- sort(unique(d[[group]]))
      sub <- list()
      ests <- c(); ses <- c()
      for (g in levs) {
        idx <- d[[group]] == g
        mg <- rma(yi, vi, data = dat, subset = idx, method = meth, level = level * 100,
                  control = ctrl)
        tg <- if (meas == "PFT") list(ni = d$n[idx]) else NULL
        pg <- predict(mg, transf = back, targs = tg)
        sub[[as.character(g)]] <- c(core(mg), het(mg), list(prop = pg$pred,
                                    prop_ci_lb = pg$ci.lb, prop_ci_ub = pg$ci.ub))
        ests <- c(ests, as.numeric(mg$b)); ses <- c(ses, mg$se)
      }
      # test for subgroup differences: fixed-effect Q across the subgroup estimates
      # (each subgroup with its own tau2, as R meta's test for subgroup differences)
      qb <- rma(ests, sei = ses, method = "FE")
      mix <- rma(yi, vi, mods = as.formula(paste("~ factor(", group, ")")), data = dat,
                 method = meth, control = ctrl)
      one$subgroups <- list(levels = as.character(levs), groups = sub,
                            Q_between = qb$QE, df = qb$k - 1, p_between = qb$QEp,
                            mixed_QM = mix$QM, mixed_QMp = mix$QMp, mixed_tau2 = mix$tau2)
    }
    mres[[meth]] <- one
  }
  res[[meas]] <- mres
}

# binomial-normal GLMM (rma.glmm -> lme4::glmer, nAGQ = 7), only when lme4 is installed;
# bobyqa tightened (rhoend 1e-12) so the reference is the optimum
if (requireNamespace("lme4", quietly = TRUE)) {
  g <- rma.glmm(measure = "PLO", xi = events, ni = n, data = d, method = "ML",
                level = level * 100,
                control = list(glmerCtrl = list(optimizer = "bobyqa",
                                                optCtrl = list(rhoend = 1e-12, maxfun = 1e5))))
  pg <- predict(g, transf = transf.ilogit)
  res$glmm <- list(est = as.numeric(g$b), se = g$se, tau2 = g$tau2, I2 = g$I2, H2 = g$H2,
                   QE_LRT = g$QE.LRT, QEp_LRT = g$QEp.LRT, prop = pg$pred,
                   prop_ci_lb = pg$ci.lb, prop_ci_ub = pg$ci.ub, prop_pi_lb = pg$pi.lb,
                   prop_pi_ub = pg$pi.ub, lme4 = as.character(packageVersion("lme4")))
}

# exact (Clopper-Pearson) binomial CI per study
ex <- t(sapply(seq_len(nrow(d)), function(i) binom.test(d$events[i], d$n[i],
                                                         conf.level = level)$conf.int))
res$exact <- list(lb = ex[, 1], ub = ex[, 2])

# Poisson regression of counts with log(n) offset (Sormani 2017 style) and quasi-Poisson
pois <- function(f, fam) {
  g <- glm(f, family = fam, data = d, offset = log(n), control = glm.control(epsilon = 1e-14, maxit = 100))
  s <- summary(g)$coefficients
  list(term = rownames(s), coef = as.numeric(s[, 1]), se = as.numeric(s[, 2]),
       stat = as.numeric(s[, 3]), pval = as.numeric(s[, 4]),
       dispersion = summary(g)$dispersion, deviance = g$deviance, df_resid = g$df.residual)
}
res$poisson <- list(intercept = pois(events ~ 1, poisson()),
                    quasi_intercept = pois(events ~ 1, quasipoisson()))
if (length(pmods)) {
  fp <- as.formula(paste("events ~", paste(pmods, collapse = " + ")))
  res$poisson$moderators <- pmods
  res$poisson$model <- pois(fp, poisson())
  res$poisson$quasi_model <- pois(fp, quasipoisson())
}

out <- list(meta = list(file = basename(path), level = level, moderators = mods, group = group,
                        poisson = pmods, r = R.version.string,
                        metafor = as.character(packageVersion("metafor")),
                        threshold = ctrl$threshold),
            results = res)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "\n")
