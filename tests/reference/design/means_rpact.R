#!/usr/bin/env Rscript
# Golden values for hsctms.design.means (two means, e.g. EDSS change) from R rpact
# getSampleSizeMeans / getPowerMeans, fixed and group-sequential; prints JSON on stdout.
#
# Usage: Rscript tests/reference/design/means_rpact.R > tests/reference/design/means_golden.json
#
# Conventions (match hsctms.design.means): arm 1 = treatment, allocationRatioPlanned = n1/n2,
# alternative = mu1 - mu2, thetaH0 the null value. rpact's one-sided tests with thetaH0 != 0
# need alternative > thetaH0 ("higher is better"); the EDSS direction ("lower is better",
# alternative = "less") is the mirror image and is checked by symmetry in the test.
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

grid <- list(
  list(id = "EDSS_03_sd1_2s", alt = -0.3, sd = 1.0, thetaH0 = 0, r = 1, sided = 2, alpha = 0.05),
  list(id = "EDSS_05_sd12_1s_r2", alt = 0.5, sd = 1.2, thetaH0 = 0, r = 2, sided = 1, alpha = 0.025),
  list(id = "NI_m03", alt = 0, sd = 1.0, thetaH0 = -0.3, r = 1, sided = 1, alpha = 0.025),
  list(id = "NI_m03_alt02", alt = 0.2, sd = 1.1, thetaH0 = -0.3, r = 1, sided = 1, alpha = 0.025),
  list(id = "big_effect_small_n", alt = 1.5, sd = 1.0, thetaH0 = 0, r = 0.5, sided = 2, alpha = 0.05),
  list(id = "sup_r3", alt = 0.4, sd = 0.9, thetaH0 = 0, r = 3, sided = 1, alpha = 0.05))
designs <- list(
  fixed = NULL,
  OF_k3 = list(tod = "asOF", info = c(1/3, 2/3, 1)),
  KD2_bsKD_k4u = list(tod = "asKD", gammaA = 2, info = c(0.25, 0.5, 0.8, 1), bs = "bsKD", gammaB = 2),
  HSD_k3 = list(tod = "asHSD", gammaA = -4, info = c(1/3, 2/3, 1)))

fixed <- list()
gsd <- list()
for (s in grid) for (na in c(FALSE, TRUE)) for (dname in names(designs)) {
  beta <- 0.2
  dspec <- designs[[dname]]
  if (is.null(dspec)) {
    x <- getSampleSizeMeans(alternative = s$alt, stDev = s$sd, thetaH0 = s$thetaH0,
                            allocationRatioPlanned = s$r, sided = s$sided, alpha = s$alpha,
                            beta = beta, normalApproximation = na)
    p <- getPowerMeans(alternative = s$alt, stDev = s$sd, thetaH0 = s$thetaH0,
                       allocationRatioPlanned = s$r, sided = s$sided, alpha = s$alpha,
                       maxNumberOfSubjects = 150, normalApproximation = na)
    fixed[[paste(s$id, if (na) "z" else "t", sep = "_")]] <- c(s, list(
      normalApproximation = na, beta = beta, nFixed = x$nFixed, nFixed1 = x$nFixed1,
      nFixed2 = x$nFixed2, nPower = 150, overallReject = p$overallReject))
    next
  }
  if (s$sided == 2 && !is.null(dspec$bs)) next
  args <- list(kMax = length(dspec$info), informationRates = dspec$info, alpha = s$alpha,
               beta = beta, sided = s$sided, typeOfDesign = dspec$tod)
  if (!is.null(dspec$gammaA)) args$gammaA <- dspec$gammaA
  if (!is.null(dspec$bs)) {
    args$typeBetaSpending <- dspec$bs
    args$gammaB <- dspec$gammaB
    args$bindingFutility <- FALSE
  }
  d <- do.call(getDesignGroupSequential, args)
  x <- getSampleSizeMeans(design = d, alternative = s$alt, stDev = s$sd, thetaH0 = s$thetaH0,
                          allocationRatioPlanned = s$r, normalApproximation = na)
  p <- getPowerMeans(design = d, alternative = s$alt, stDev = s$sd, thetaH0 = s$thetaH0,
                     allocationRatioPlanned = s$r, maxNumberOfSubjects = 150,
                     normalApproximation = na)
  gsd[[paste(s$id, if (na) "z" else "t", dname, sep = "_")]] <- c(s, list(
    normalApproximation = na, beta = beta, design = dspec,
    maxNumberOfSubjects = x$maxNumberOfSubjects,
    numberOfSubjects = as.numeric(x$numberOfSubjects),
    expectedNumberOfSubjectsH1 = x$expectedNumberOfSubjectsH1,
    expectedNumberOfSubjectsH0 = x$expectedNumberOfSubjectsH0,
    nPower = 150, overallReject = p$overallReject,
    expectedNumberOfSubjects = p$expectedNumberOfSubjects))
}

out <- list(meta = list(r = R.version.string, rpact = as.character(packageVersion("rpact"))),
            fixed = fixed, gsd = gsd)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "\n")
