#!/usr/bin/env Rscript
# Golden values for the issue-15 group-sequential designs of hsctms.design from R rpact
# (Kim-DeMets / Hwang-Shih-DeCani spending, Haybittle-Peto and Wang-Tsiatis boundaries,
# binding vs non-binding futility, two-sided power); prints JSON on stdout.
#
# Usage: Rscript tests/reference/design/gsd_more_rpact.R > tests/reference/design/gsd_more_golden.json
suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

infos <- list(k3 = c(1/3, 2/3, 1), k4u = c(0.25, 0.5, 0.8, 1))

record <- function(d, extra) {
  ch <- getDesignCharacteristics(d)
  c(extra, list(
    kMax = d$kMax, info = d$informationRates, sided = d$sided, alpha = d$alpha, beta = d$beta,
    criticalValues = d$criticalValues, futilityBounds = d$futilityBounds,
    alphaSpent = d$alphaSpent, betaSpent = d$betaSpent, stageLevels = d$stageLevels,
    inflationFactor = ch$inflationFactor, shift = ch$shift,
    rejectionProbabilities = ch$rejectionProbabilities,
    futilityProbabilities = ch$futilityProbabilities,
    averageSampleNumber1 = ch$averageSampleNumber1,
    averageSampleNumber0 = ch$averageSampleNumber0))
}

gsd <- list()
# 1. Kim-DeMets and Hwang-Shih-DeCani alpha spending, one- and two-sided
for (iname in names(infos)) for (tod in c("asKD", "asHSD")) for (sided in c(1, 2)) {
  gammas <- if (tod == "asKD") c(1, 2, 3) else c(-4, -2, 1)
  for (g in gammas) {
    alpha <- if (sided == 1) 0.025 else 0.05
    d <- getDesignGroupSequential(kMax = length(infos[[iname]]), informationRates = infos[[iname]],
                                  alpha = alpha, beta = 0.2, sided = sided, typeOfDesign = tod,
                                  gammaA = g)
    gsd[[paste(iname, tod, g, paste0("s", sided), sep = "_")]] <-
      record(d, list(typeOfDesign = tod, gammaA = g, betaSpending = "none", gammaB = NA,
                     binding = FALSE))
  }
}
# 1 + 3. beta spending (bsOF, bsP, bsKD, bsHSD), non-binding and binding futility
combos <- list(
  list(tod = "asOF", g = NA, bs = "bsOF", gb = NA), list(tod = "asP", g = NA, bs = "bsP", gb = NA),
  list(tod = "asKD", g = 3, bs = "bsKD", gb = 2), list(tod = "asHSD", g = -4, bs = "bsHSD", gb = -2),
  list(tod = "asOF", g = NA, bs = "bsHSD", gb = 1), list(tod = "asKD", g = 2, bs = "bsOF", gb = NA))
for (iname in names(infos)) for (cc in combos) for (binding in c(FALSE, TRUE)) {
  args <- list(kMax = length(infos[[iname]]), informationRates = infos[[iname]], alpha = 0.025,
               beta = 0.2, sided = 1, typeOfDesign = cc$tod, typeBetaSpending = cc$bs,
               bindingFutility = binding)
  if (!is.na(cc$g)) args$gammaA <- cc$g
  if (!is.na(cc$gb)) args$gammaB <- cc$gb
  d <- do.call(getDesignGroupSequential, args)
  gsd[[paste(iname, cc$tod, cc$g, cc$bs, cc$gb, if (binding) "binding" else "nonbinding",
             sep = "_")]] <-
    record(d, list(typeOfDesign = cc$tod, gammaA = cc$g, betaSpending = cc$bs, gammaB = cc$gb,
                   binding = binding))
}
# 2. Haybittle-Peto and Wang-Tsiatis (fixed boundaries)
for (iname in names(infos)) for (sided in c(1, 2)) {
  alpha <- if (sided == 1) 0.025 else 0.05
  k <- length(infos[[iname]])
  d <- getDesignGroupSequential(kMax = k, informationRates = infos[[iname]], alpha = alpha,
                                beta = 0.2, sided = sided, typeOfDesign = "HP")
  gsd[[paste(iname, "HP", paste0("s", sided), sep = "_")]] <-
    record(d, list(typeOfDesign = "HP", betaSpending = "none", binding = FALSE))
  for (delta in c(0, 0.1, 0.25, 0.5)) {
    d <- getDesignGroupSequential(kMax = k, informationRates = infos[[iname]], alpha = alpha,
                                  beta = 0.2, sided = sided, typeOfDesign = "WT", deltaWT = delta)
    gsd[[paste(iname, "WT", delta, paste0("s", sided), sep = "_")]] <-
      record(d, list(typeOfDesign = "WT", deltaWT = delta, betaSpending = "none",
                     binding = FALSE))
  }
}

# 4. power and expected n of two-sided (and one-sided) designs at given effects
power <- list()
pdesigns <- list(
  list(id = "OF_s2_k3", tod = "asOF", g = NA, sided = 2, info = infos$k3),
  list(id = "HSD-4_s2_k4u", tod = "asHSD", g = -4, sided = 2, info = infos$k4u),
  list(id = "KD2_s2_k3", tod = "asKD", g = 2, sided = 2, info = infos$k3),
  list(id = "P_s2_k4u", tod = "asP", g = NA, sided = 2, info = infos$k4u),
  list(id = "KD3_s1_k3", tod = "asKD", g = 3, sided = 1, info = infos$k3))
for (s in pdesigns) {
  alpha <- if (s$sided == 1) 0.025 else 0.05
  args <- list(kMax = length(s$info), informationRates = s$info, alpha = alpha, beta = 0.2,
               sided = s$sided, typeOfDesign = s$tod)
  if (!is.na(s$g)) args$gammaA <- s$g
  d <- do.call(getDesignGroupSequential, args)
  for (theta in c(0, 0.1, 0.2, -0.25, 0.35)) {
    p <- getPowerAndAverageSampleNumber(d, theta = theta, nMax = 150)
    power[[paste(s$id, theta, sep = "_")]] <- list(
      typeOfDesign = s$tod, gammaA = s$g, sided = s$sided, alpha = alpha, info = s$info,
      theta = theta, nMax = 150, overallReject = p$overallReject,
      rejectPerStage = as.numeric(p$rejectPerStage), averageSampleNumber = p$averageSampleNumber)
  }
}

out <- list(meta = list(r = R.version.string, rpact = as.character(packageVersion("rpact"))),
            gsd = gsd, power = power)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE), "\n")
