#!/usr/bin/env Rscript
# Timing peer for bench/bench_design.py: rpact simulation of the same simple designs.
# Usage: Rscript bench/bench_design.R N_TRIALS   -> JSON with seconds and simulated power
suppressPackageStartupMessages({library(rpact); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
iters <- if (length(args) >= 1) as.integer(args[1]) else 10000L
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
t_rates <- system.time(r <- getSimulationRates(design = d, groups = 2, pi1 = 0.75, pi2 = 0.6,
  plannedSubjects = 200, maxNumberOfIterations = iters, seed = 1, normalApproximation = TRUE))[["elapsed"]]
t_surv <- system.time(s <- getSimulationSurvival(design = d, hazardRatio = 0.6,
  lambda2 = 0.3, accrualTime = c(0, 2), accrualIntensity = 100, maxNumberOfSubjects = 200,
  plannedEvents = 100, directionUpper = FALSE, maxNumberOfIterations = iters, seed = 1))[["elapsed"]]
cat(toJSON(list(iterations = iters, rates_seconds = t_rates, rates_power = r$overallReject,
                survival_seconds = t_surv, survival_power = s$overallReject),
           auto_unbox = TRUE, digits = NA), "\n")
