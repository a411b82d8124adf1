# Export R's survival::lung (NCCTG lung cancer data) to lung.csv for the reference tests.
# time in days; event 1 = death (status 2 in R), 0 = censored; group = sex (1 male, 2 female).
# Rows with a missing ph.ecog are dropped so Cox models use the same rows in R and Python.
suppressPackageStartupMessages(library(survival))
d <- survival::lung
d <- d[!is.na(d$ph.ecog), ]
out <- data.frame(time = d$time, event = as.integer(d$status == 2), group = d$sex,
                  stratum = ifelse(d$age < 63, "young", "old"), age = d$age,
                  ph_ecog = d$ph.ecog)
write.csv(out, "lung.csv", row.names = FALSE)
