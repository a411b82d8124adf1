# Independent base-R implementation of the hsctms cost-effectiveness Markov model (issue 17).
# Written from the model description in docs/economics.md, not from the Python code: builds
# the full 21 x 21 transition matrix of every cycle (death column included) and propagates
# the cohort by matrix products.
#
# Usage: Rscript markov.R inputs.json [draws.json] > out.json
#   inputs.json: the validated inputs (EconomicsInputs.model_dump(mode="json"))
#   draws.json:  optional; parameter arrays (key -> list of draws) as written by the test;
#                without it the point values of inputs.json are used (one "draw").
# Output: per draw and strategy costs, QALYs, life-years, relapses; the traces of draw 1;
# PSA summaries (means, CEAC, EVPI) over the wtp grid of the inputs.
suppressMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
inp <- fromJSON(args[1], simplifyVector = FALSE)
num <- function(x) as.numeric(unlist(x))

point_params <- function(inp) {
  nh <- inp$natural_history
  p <- list(worsen_r = num(nh$relapsing$worsen), improve_r = num(nh$relapsing$improve),
            to_sp = num(nh$relapsing$to_sp), worsen_s = num(nh$sp$worsen),
            improve_s = num(nh$sp$improve),
            relapse_r = num(inp$relapse_rate$relapsing), relapse_s = num(inp$relapse_rate$sp),
            mult_r = num(inp$mortality$multiplier$relapsing),
            mult_s = num(inp$mortality$multiplier$sp),
            u_r = num(inp$utility$relapsing), u_s = num(inp$utility$sp),
            c_r = num(inp$state_cost$relapsing), c_s = num(inp$state_cost$sp),
            relapse_cost = inp$relapse_cost$value,
            relapse_qaly_loss = inp$relapse_qaly_loss$value)
  for (s in inp$strategies) {
    n <- s$name
    p[[paste0(n, ".hr")]] <- s$hr_progression$value
    p[[paste0(n, ".rr")]] <- s$rr_relapse$value
    p[[paste0(n, ".annual_cost")]] <- s$annual_cost$value
    for (i in seq_along(s$one_off)) {
      p[[sprintf("%s.one_off.%d", n, i - 1)]] <- s$one_off[[i]]$cost$value
      if (!is.null(s$one_off[[i]]$share)) p[[sprintf("%s.one_off.%d.share", n, i - 1)]] <- s$one_off[[i]]$share$value
    }
    if (!is.null(s$trm)) p[[paste0(n, ".trm")]] <- s$trm$value
    for (i in seq_along(s$events)) {
      ev <- s$events[[i]]
      p[[sprintf("%s.event.%d.probability", n, i - 1)]] <- ev$probability$value
      p[[sprintf("%s.event.%d.cost", n, i - 1)]] <- ev$cost$value
      p[[sprintf("%s.event.%d.qaly_loss", n, i - 1)]] <- ev$qaly_loss$value
    }
  }
  p
}

bg_prob <- function(age) {
  q <- inp$mortality$background[[1]][[2]]
  for (row in inp$mortality$background) if (age >= row[[1]]) q <- row[[2]]
  q
}

run_model <- function(p, keep_trace = FALSE) {
  st <- inp$settings
  Tn <- st$horizon_years
  rc <- inp$discount$costs; re <- inp$discount$effects
  # effective effects versus natural history (relative_to chains)
  hr <- list(); rr <- list()
  for (s in inp$strategies) {
    h <- p[[paste0(s$name, ".hr")]]; r <- p[[paste0(s$name, ".rr")]]
    if (!is.null(s$hr_progression$relative_to)) h <- h * hr[[s$hr_progression$relative_to]]
    if (!is.null(s$rr_relapse$relative_to)) r <- r * rr[[s$rr_relapse$relative_to]]
    hr[[s$name]] <- h; rr[[s$name]] <- r
  }
  res <- list(); traces <- list()
  for (s in inp$strategies) {
    n <- s$name
    on <- c(0:9 <= s$max_edss, (0:9 <= s$max_edss) & (s$effect_states == "all"))
    P <- matrix(0, 20, 20)
    for (e in 1:10) {
      for (sp in c(FALSE, TRUE)) {
        i <- e + if (sp) 10 else 0
        h <- if (on[i]) hr[[n]] else 1
        w <- 1 - (1 - (if (sp) p$worsen_s else p$worsen_r)[e])^h
        im <- (if (sp) p$improve_s else p$improve_r)[e]
        cv <- if (sp) 0 else 1 - (1 - p$to_sp[e])^h
        if (e < 10) P[i, i + 1] <- w
        if (e > 1) P[i, i - 1] <- im
        if (!sp) P[i, i + 10] <- cv
        P[i, i] <- 1 - w - im - cv
      }
    }
    mult <- c(p$mult_r, p$mult_s)
    relk <- c(p$relapse_r, p$relapse_s) * ifelse(on, rr[[n]], 1)
    cvec <- c(c(p$c_r, p$c_s) + on * p[[paste0(n, ".annual_cost")]] + relk * p$relapse_cost, 0)
    uvec <- c(c(p$u_r, p$u_s) - relk * p$relapse_qaly_loss, 0)
    lvec <- c(rep(1, 20), 0)
    rvec <- c(relk, 0)
    x <- matrix(0, 1, 21)
    x[1, st$start_edss + 1 + if (isTRUE(st$start_sp)) 10 else 0] <- 1
    share <- function(i) {
      if (is.null(s$one_off[[i]]$share)) 1 else p[[sprintf("%s.one_off.%d.share", n, i - 1)]]
    }
    cost <- 0
    for (i in seq_along(s$one_off)) if (s$one_off[[i]]$year == 0) cost <- cost + share(i) * p[[sprintf("%s.one_off.%d", n, i - 1)]]
    trm <- p[[paste0(n, ".trm")]]
    if (!is.null(trm)) x <- x %*% rbind(cbind(diag(1 - trm, 20), rep(trm, 20)), c(rep(0, 20), 1))
    tr <- matrix(0, Tn + 1, 21); tr[1, ] <- x
    qaly <- 0; ly <- 0; nrel <- 0
    for (k in 1:Tn) {
      q <- 1 - (1 - bg_prob(st$start_age + k - 1))^mult
      M <- rbind(cbind((1 - q) * P, q), c(rep(0, 20), 1))
      xn <- x %*% M
      m <- (x + xn) / 2
      dc <- (1 + rc)^-(k - 0.5); de <- (1 + re)^-(k - 0.5)
      ck <- as.numeric(m %*% cvec); uk <- as.numeric(m %*% uvec)
      alive <- as.numeric(m %*% lvec)
      for (i in seq_along(s$events)) {
        ev <- s$events[[i]]
        if (ev$start <= k - 1 && k - 1 < ev$stop) {
          pa <- 1 - (1 - p[[sprintf("%s.event.%d.probability", n, i - 1)]])^(1 / (ev$stop - ev$start))
          ck <- ck + alive * pa * p[[sprintf("%s.event.%d.cost", n, i - 1)]]
          uk <- uk - alive * pa * p[[sprintf("%s.event.%d.qaly_loss", n, i - 1)]]
        }
      }
      cost <- cost + dc * ck; qaly <- qaly + de * uk; ly <- ly + alive
      nrel <- nrel + as.numeric(m %*% rvec)
      x <- xn
      for (i in seq_along(s$one_off)) if (s$one_off[[i]]$year == k) {
        cost <- cost + (1 + rc)^-k * as.numeric(x %*% lvec) * share(i) * p[[sprintf("%s.one_off.%d", n, i - 1)]]
      }
      tr[k + 1, ] <- x
    }
    res[[n]] <- c(cost = cost, qaly = qaly, ly = ly, relapses = nrel)
    traces[[n]] <- tr
  }
  list(res = res, traces = traces)
}

names_k <- vapply(inp$strategies, function(s) s$name, "")
if (length(args) >= 2) {
  draws <- fromJSON(args[2], simplifyVector = TRUE)
  D <- NROW(draws[["relapse_cost"]])
} else {
  draws <- NULL; D <- 1
}
base <- point_params(inp)
costs <- matrix(0, D, length(names_k)); qalys <- costs; lys <- costs; rels <- costs
first <- NULL
for (d in 1:D) {
  p <- base
  if (!is.null(draws)) for (key in names(draws)) {
    v <- draws[[key]]
    p[[key]] <- if (is.matrix(v)) as.numeric(v[d, ]) else v[d]
  }
  out <- run_model(p)
  if (d == 1) first <- out
  for (j in seq_along(names_k)) {
    r <- out$res[[names_k[j]]]
    costs[d, j] <- r[["cost"]]; qalys[d, j] <- r[["qaly"]]
    lys[d, j] <- r[["ly"]]; rels[d, j] <- r[["relapses"]]
  }
}
grid <- num(inp$settings$wtp_grid)
ceac <- matrix(0, length(grid), length(names_k)); evpi <- numeric(length(grid))
for (l in seq_along(grid)) {
  nmb <- grid[l] * qalys - costs
  best <- apply(nmb, 1, which.max)
  for (j in seq_along(names_k)) ceac[l, j] <- mean(best == j)
  evpi[l] <- mean(apply(nmb, 1, max)) - max(colMeans(nmb))
}
out <- list(strategies = names_k, costs = costs, qalys = qalys, life_years = lys,
            relapses = rels, traces = lapply(first$traces, unname),
            mean_costs = colMeans(costs), mean_qalys = colMeans(qalys),
            ceac = ceac, evpi = evpi, r = R.version.string)
cat(toJSON(out, digits = NA, matrix = "rowmajor", auto_unbox = FALSE))
