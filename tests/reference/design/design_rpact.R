#!/usr/bin/env Rscript
# Golden values for hsctms.design from R rpact; prints JSON on stdout.
#
# Usage: Rscript tests/reference/design/design_rpact.R > tests/reference/design/rpact_golden.json
#
# Conventions (match hsctms.design): arm 1 = treatment, allocationRatioPlanned = n1/n2,
# rates effect = pi1 - pi2 with thetaH0 the margin; survival hazardRatio = treatment/control.
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

rates <- list()
rate_grid <- list(
  list(id = "COAST_80v40_2s", pi1 = 0.80, pi2 = 0.40, thetaH0 = 0, alpha = 0.05, beta = 0.20, r = 1, sided = 2),
  list(id = "COAST_80v40_2s_p90", pi1 = 0.80, pi2 = 0.40, thetaH0 = 0, alpha = 0.05, beta = 0.10, r = 1, sided = 2),
  list(id = "SAA_21v07_2s", pi1 = 0.21, pi2 = 0.07, thetaH0 = 0, alpha = 0.05, beta = 0.20, r = 1, sided = 2),
  list(id = "NI_80v80_m10", pi1 = 0.80, pi2 = 0.80, thetaH0 = -0.10, alpha = 0.025, beta = 0.20, r = 1, sided = 1),
  list(id = "NI_80v80_m10_p90", pi1 = 0.80, pi2 = 0.80, thetaH0 = -0.10, alpha = 0.025, beta = 0.10, r = 1, sided = 1),
  list(id = "NI_85v80_m10_r2", pi1 = 0.85, pi2 = 0.80, thetaH0 = -0.10, alpha = 0.025, beta = 0.20, r = 2, sided = 1),
  list(id = "NI_60v60_m15", pi1 = 0.60, pi2 = 0.60, thetaH0 = -0.15, alpha = 0.025, beta = 0.20, r = 1, sided = 1),
  list(id = "NI_32v32_m10_zeus", pi1 = 0.32, pi2 = 0.32, thetaH0 = -0.10, alpha = 0.025, beta = 0.20, r = 1, sided = 1),
  list(id = "SUP_80v60", pi1 = 0.80, pi2 = 0.60, thetaH0 = 0, alpha = 0.025, beta = 0.20, r = 1, sided = 1),
  list(id = "SUP_80v60_r2", pi1 = 0.80, pi2 = 0.60, thetaH0 = 0, alpha = 0.025, beta = 0.20, r = 2, sided = 1),
  list(id = "SUP_60v80_r05_less", pi1 = 0.60, pi2 = 0.80, thetaH0 = 0, alpha = 0.05, beta = 0.20, r = 0.5, sided = 2))
for (s in rate_grid) {
  x <- getSampleSizeRates(groups = 2, pi1 = s$pi1, pi2 = s$pi2, thetaH0 = s$thetaH0,
                          alpha = s$alpha, beta = s$beta, sided = s$sided,
                          allocationRatioPlanned = s$r, normalApproximation = TRUE)
  rates[[s$id]] <- c(s, list(nFixed = x$nFixed, nFixed1 = x$nFixed1, nFixed2 = x$nFixed2))
}

# power of a given n (getPowerRates), two proportions
rates_power <- list()
pgrid <- list(
  list(id = "COAST_n50", pi1 = 0.80, pi2 = 0.40, thetaH0 = 0, alpha = 0.05, n = 50, r = 1, sided = 2),
  list(id = "NI_n400", pi1 = 0.80, pi2 = 0.80, thetaH0 = -0.10, alpha = 0.025, n = 400, r = 1, sided = 1),
  list(id = "NI_n300_r2", pi1 = 0.85, pi2 = 0.80, thetaH0 = -0.10, alpha = 0.025, n = 300, r = 2, sided = 1))
for (s in pgrid) {
  x <- getPowerRates(groups = 2, pi1 = s$pi1, pi2 = s$pi2, thetaH0 = s$thetaH0, alpha = s$alpha,
                     sided = s$sided, maxNumberOfSubjects = s$n, allocationRatioPlanned = s$r,
                     normalApproximation = TRUE)
  rates_power[[s$id]] <- c(s, list(overallReject = x$overallReject))
}

surv <- list()
surv_grid <- list(
  list(id = "SUP_HR05", hr = 0.5, thetaH0 = 1, sided = 1, alpha = 0.025),
  list(id = "SUP_HR06", hr = 0.6, thetaH0 = 1, sided = 1, alpha = 0.025),
  list(id = "SUP_HR06_r2", hr = 0.6, thetaH0 = 1, r = 2, sided = 1, alpha = 0.025),
  list(id = "SUP_HR0667_2s", hr = 0.667, thetaH0 = 1, sided = 2, alpha = 0.05),
  list(id = "NI_HR1_m13", hr = 1.0, thetaH0 = 1.3, sided = 1, alpha = 0.025))
for (s in surv_grid) for (typ in c("Schoenfeld", "Freedman", "HsiehFreedman")) {
  if (is.null(s$r)) s$r <- 1
  if (s$thetaH0 != 1 && typ != "Schoenfeld") next
  x <- getSampleSizeSurvival(
    hazardRatio = s$hr, thetaH0 = s$thetaH0, pi2 = 0.30, eventTime = 60,
    accrualTime = c(0, 24), followUpTime = 36, dropoutRate1 = 0.05, dropoutRate2 = 0.05,
    dropoutTime = 12, alpha = s$alpha, beta = 0.20, sided = s$sided, allocationRatioPlanned = s$r,
    typeOfComputation = typ)
  surv[[paste(s$id, typ, sep = "_")]] <- list(
    hr = s$hr, thetaH0 = s$thetaH0, type = typ, r = s$r, pi2 = 0.30, eventTime = 60, accrual = 24,
    followUp = 36, dropoutRate = 0.05, dropoutTime = 12, alpha = s$alpha, sided = s$sided, beta = 0.20,
    lambda1 = x$lambda1, lambda2 = x$lambda2,
    eventsFixed = x$eventsFixed, nFixed = x$nFixed, nFixed1 = x$nFixed1, nFixed2 = x$nFixed2)
}

gsd <- list()
gsd_grid <- list(
  list(id = "k3_equal", kMax = 3, info = c(1/3, 2/3, 1)),
  list(id = "k2_half", kMax = 2, info = c(0.5, 1)),
  list(id = "k4_unequal", kMax = 4, info = c(0.25, 0.5, 0.8, 1)))
for (s in gsd_grid) for (tod in c("asOF", "asP")) for (sided in c(1, 2)) for (bs in c("none", "bsOF", "bsP")) {
  if (sided == 2 && bs != "none") next
  alpha <- if (sided == 1) 0.025 else 0.05
  if (bs == "none") {
    d <- getDesignGroupSequential(kMax = s$kMax, alpha = alpha, sided = sided, beta = 0.2,
                                  typeOfDesign = tod, informationRates = s$info)
  } else {
    d <- getDesignGroupSequential(kMax = s$kMax, alpha = alpha, sided = sided, beta = 0.2,
                                  typeOfDesign = tod, informationRates = s$info,
                                  typeBetaSpending = bs, bindingFutility = FALSE)
  }
  ch <- getDesignCharacteristics(d)
  gsd[[paste(s$id, tod, paste0("s", sided), bs, sep = "_")]] <- list(
    kMax = s$kMax, info = s$info, typeOfDesign = tod, sided = sided, alpha = alpha, beta = 0.2,
    betaSpending = bs,
    criticalValues = d$criticalValues, futilityBounds = d$futilityBounds,
    alphaSpent = d$alphaSpent, betaSpent = d$betaSpent, stageLevels = d$stageLevels,
    inflationFactor = ch$inflationFactor, shift = ch$shift, power = ch$power,
    rejectionProbabilities = ch$rejectionProbabilities,
    futilityProbabilities = ch$futilityProbabilities,
    averageSampleNumber1 = ch$averageSampleNumber1, averageSampleNumber01 = ch$averageSampleNumber01,
    averageSampleNumber0 = ch$averageSampleNumber0)
}

out <- list(meta = list(r = R.version.string, rpact = as.character(packageVersion("rpact"))),
            rates = rates, rates_power = rates_power, survival = surv, gsd = gsd)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "\n")
