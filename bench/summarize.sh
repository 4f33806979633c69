#!/usr/bin/env bash
# Summarize a bench/run.sh result directory as Markdown: per point, the median of the runs and
# their spread (min-max), chatd beside ngircd, and the ratio of the medians; then chatd's IRC
# listener (server chatd_irc) beside ngircd at the points where it ran.
#   bash bench/summarize.sh target/bench-results/DATE > summary.md
set -euo pipefail
dir=${1:?usage: summarize.sh RESULT_DIR}
shopt -s nullglob
files=("$dir"/raw/*.kv)
[ "${#files[@]}" -gt 0 ] || { echo "no results in $dir/raw" >&2; exit 1; }

awk -v extra="$dir/chatd-extra.kv" -v envf="$dir/environment.txt" '
function isort(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
}
# Median of the values stored for key k (a space-separated list), or "" if none.
function med(k,   a, n, i) {
  if (!(k in vals)) return ""
  n = split(vals[k], a, " "); for (i in a) a[i] += 0; isort(a, n)
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(k,   a, n, i) { if (!(k in vals)) return ""; n = split(vals[k], a, " "); for (i in a) a[i] += 0; isort(a, n); return a[1] }
function hi(k,   a, n, i) { if (!(k in vals)) return ""; n = split(vals[k], a, " "); for (i in a) a[i] += 0; isort(a, n); return a[n] }
function cnt(k,   a) { if (!(k in vals)) return 0; return split(vals[k], a, " ") }
function fmt(v, d) { if (v == "") return "-"; return sprintf("%." d "f", v) }
# "median (min-max)" with d decimals, scaled by s.
function cell(k, d, s) {
  if (!(k in vals)) return "-"
  if (cnt(k) == 1) return fmt(med(k) * s, d)
  return fmt(med(k) * s, d) " (" fmt(lo(k) * s, d) "-" fmt(hi(k) * s, d) ")"
}
function ratio(a, b) { if (a == "" || b == "" || b == 0) return "-"; return sprintf("%.2f", a / b) }
{
  np = split(FILENAME, parts, "/"); base = parts[np]; sub(/\.kv$/, "", base)
  split(base, f, "-")   # server-mode-nN-rR
  srv = f[1]; mode = f[2]; n = substr(f[3], 2)
  eq = index($0, "="); key = substr($0, 1, eq - 1); v = substr($0, eq + 1)
  if (key == "note") { notes[srv " " mode " N=" n] = notes[srv " " mode " N=" n] "; " v; next }
  if (key == "end" && v != "complete") bad[srv " " mode " N=" n] = bad[srv " " mode " N=" n] " " v
  if (key == "mode") modetext[mode] = v
  if (v !~ /^-?[0-9.]+$/) next
  k = srv SUBSEP mode SUBSEP n SUBSEP key
  vals[k] = (k in vals) ? vals[k] " " v : v
  seen[mode SUBSEP n] = 1; modes[mode] = 1; ns[n] = 1; servers[srv] = 1
}
END {
  while ((getline line < envf) > 0) env = env "`" line "` "
  print "# chat-bench results"; print ""
  print "Environment: " env; print ""
  print "Each cell: median of the runs (min-max). Ratios are chatd / ngircd of the medians."
  print "CPU per delivery is the server process CPU time (user+sys) during the sending phase divided by the deliveries."
  print ""
  nn = 0; for (n in ns) nl[++nn] = n + 0; isort(nl, nn)
  split("paced fast fast1 tlsfast", ml, " ")
  title["paced"] = " (10 msg/s per client)"
  title["fast"] = " (as fast as a window of 16 unseen messages per sender allows)"
  title["fast1"] = " (window of 1: each sender waits until every other client saw its last message)"
  title["tlsfast"] = " (fast, over TLS: chatd'"'"'s TLS port beside ngircd'"'"'s SSL port)"
  for (mi = 1; mi <= 4; mi++) {
    mode = ml[mi]; if (!(mode in modes)) continue
    print "## " mode title[mode]; print ""
    print "| N | runs | deliveries/s chatd | deliveries/s ngircd | ratio | server ns/delivery chatd | ngircd | ratio | p50 ms chatd | p50 ms ngircd | p99 ms chatd | p99 ms ngircd | max ms chatd | max ms ngircd |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nn; i++) {
      n = nl[i]; if (!((mode SUBSEP n) in seen)) continue
      c = "chatd" SUBSEP mode SUBSEP n SUBSEP; g = "ngircd" SUBSEP mode SUBSEP n SUBSEP
      printf "| %s | %d+%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n,
        cnt(c "exit"), cnt(g "exit"),
        cell(c "deliveries_per_s", 0, 1), cell(g "deliveries_per_s", 0, 1),
        ratio(med(c "deliveries_per_s"), med(g "deliveries_per_s")),
        cell(c "server_ns_per_delivery", 0, 1), cell(g "server_ns_per_delivery", 0, 1),
        ratio(med(c "server_ns_per_delivery"), med(g "server_ns_per_delivery")),
        cell(c "latency_p50_ms", 3, 1), cell(g "latency_p50_ms", 3, 1),
        cell(c "latency_p99_ms", 3, 1), cell(g "latency_p99_ms", 3, 1),
        cell(c "latency_max_ms", 2, 1), cell(g "latency_max_ms", 2, 1)
    }
    print ""
    print "| N | lost/dup/reordered chatd (sum of runs) | ngircd | server CPU share chatd | ngircd | generator CPU share (chatd runs) | (ngircd runs) | peak RSS KiB chatd | ngircd | disconnects chatd | ngircd | load avg after (chatd runs) | (ngircd runs) |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= nn; i++) {
      n = nl[i]; if (!((mode SUBSEP n) in seen)) continue
      c = "chatd" SUBSEP mode SUBSEP n SUBSEP; g = "ngircd" SUBSEP mode SUBSEP n SUBSEP
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n,
        sum(c "lost") "/" sum(c "duplicated") "/" sum(c "reordered"),
        sum(g "lost") "/" sum(g "duplicated") "/" sum(g "reordered"),
        cell(c "server_cpu_share", 2, 1), cell(g "server_cpu_share", 2, 1),
        cell(c "generator_cpu_share", 2, 1), cell(g "generator_cpu_share", 2, 1),
        cell(c "server_peak_rss_kib", 0, 1), cell(g "server_peak_rss_kib", 0, 1),
        sum(c "disconnects"), sum(g "disconnects"),
        cell(c "loadavg_after", 2, 1), cell(g "loadavg_after", 2, 1)
    }
    print ""
  }
  # IRC on both sides: the IRC listener of chatd (server chatd_irc) beside ngircd, where it ran.
  hdr = 0
  for (mi = 1; mi <= 3; mi++) {
    mode = ml[mi]
    for (i = 1; i <= nn; i++) {
      n = nl[i]
      c = "chatd_irc" SUBSEP mode SUBSEP n SUBSEP; g = "ngircd" SUBSEP mode SUBSEP n SUBSEP
      if (!((c "exit") in vals)) continue
      if (!hdr) {
        print "## IRC on both sides: the IRC listener of chatd beside ngircd"; print ""
        print "chat-bench speaks IRC to both (`--proto irc`, channel `#bench`). Ratios are chatd IRC / ngircd of the medians."
        print ""
        print "| mode | N | runs | deliveries/s chatd IRC | ngircd | ratio | server ns/delivery chatd IRC | ngircd | ratio | p50 ms chatd IRC | ngircd | p99 ms chatd IRC | ngircd | lost/dup/reordered chatd IRC (sum of runs) | ngircd | disconnects chatd IRC | ngircd | generator CPU share (chatd IRC runs) |"
        print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        hdr = 1
      }
      printf "| %s | %s | %d+%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mode, n,
        cnt(c "exit"), cnt(g "exit"),
        cell(c "deliveries_per_s", 0, 1), cell(g "deliveries_per_s", 0, 1),
        ratio(med(c "deliveries_per_s"), med(g "deliveries_per_s")),
        cell(c "server_ns_per_delivery", 0, 1), cell(g "server_ns_per_delivery", 0, 1),
        ratio(med(c "server_ns_per_delivery"), med(g "server_ns_per_delivery")),
        cell(c "latency_p50_ms", 3, 1), cell(g "latency_p50_ms", 3, 1),
        cell(c "latency_p99_ms", 3, 1), cell(g "latency_p99_ms", 3, 1),
        sum(c "lost") "/" sum(c "duplicated") "/" sum(c "reordered"),
        sum(g "lost") "/" sum(g "duplicated") "/" sum(g "reordered"),
        sum(c "disconnects"), sum(g "disconnects"),
        cell(c "generator_cpu_share", 2, 1)
    }
  }
  if (hdr) print ""
  for (i = 1; i <= nn; i++) {
    n = nl[i]; if (!(("crowd" SUBSEP n) in seen)) continue
    c = "chatd" SUBSEP "crowd" SUBSEP n SUBSEP; g = "ngircd" SUBSEP "crowd" SUBSEP n SUBSEP
    rate = modetext["crowd"]; gsub(/_/, " ", rate)
    print "## crowd: " n " clients, " rate " each"; print ""
    print "| N | runs | deliveries/s chatd | ngircd | p50 ms chatd | p50 ms ngircd | p99 ms chatd | p99 ms ngircd | max ms chatd | max ms ngircd | join s chatd | join s ngircd |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf "| %s | %d+%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n,
      cnt(c "exit"), cnt(g "exit"),
      cell(c "deliveries_per_s", 0, 1), cell(g "deliveries_per_s", 0, 1),
      cell(c "latency_p50_ms", 3, 1), cell(g "latency_p50_ms", 3, 1),
      cell(c "latency_p99_ms", 3, 1), cell(g "latency_p99_ms", 3, 1),
      cell(c "latency_max_ms", 2, 1), cell(g "latency_max_ms", 2, 1),
      cell(c "join_s", 2, 1), cell(g "join_s", 2, 1)
    print ""
    print "| N | server CPU share chatd | ngircd | server ns/delivery chatd | ngircd | RSS KiB (VmRSS, all in) chatd | ngircd | private KiB (RssAnon, all in) chatd | ngircd | lost/dup/reordered chatd | ngircd | disconnects chatd | ngircd | generator CPU share (chatd runs) | (ngircd runs) |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n,
      cell(c "server_cpu_share", 2, 1), cell(g "server_cpu_share", 2, 1),
      cell(c "server_ns_per_delivery", 0, 1), cell(g "server_ns_per_delivery", 0, 1),
      cell(c "server_rss_kib", 0, 1), cell(g "server_rss_kib", 0, 1),
      cell(c "server_rss_anon_kib", 0, 1), cell(g "server_rss_anon_kib", 0, 1),
      sum(c "lost") "/" sum(c "duplicated") "/" sum(c "reordered"),
      sum(g "lost") "/" sum(g "duplicated") "/" sum(g "reordered"),
      sum(c "disconnects"), sum(g "disconnects"),
      cell(c "generator_cpu_share", 2, 1), cell(g "generator_cpu_share", 2, 1)
    print ""
  }
  while ((getline line < extra) > 0) {
    eq = index(line, "="); key = substr(line, 1, eq - 1); v = substr(line, eq + 1)
    k = "x" SUBSEP key; vals[k] = (k in vals) ? vals[k] " " v : v
  }
  print "## chatd alone"; print ""
  print "| figure | value |"; print "|---|---|"
  if (("x" SUBSEP "startup_us") in vals) print "| start-up to `listening`, ms (median of " cnt("x" SUBSEP "startup_us") ", min-max) | " cell("x" SUBSEP "startup_us", 1, 0.001) " |"
  if (("x" SUBSEP "idle_rss_kib") in vals) print "| RSS idle, KiB (VmRSS; VmHWM " med("x" SUBSEP "idle_peak_rss_kib") ") | " med("x" SUBSEP "idle_rss_kib") " |"
  if (("x" SUBSEP "idle_rss_anon_kib") in vals) print "| private memory idle, KiB (RssAnon) | " med("x" SUBSEP "idle_rss_anon_kib") " |"
  for (i = 1; i <= nn; i++) {
    k = "chatd" SUBSEP "crowd" SUBSEP nl[i] SUBSEP
    if ((k "server_rss_anon_kib") in vals) print "| private memory with " nl[i] " clients in (RssAnon at the end of the crowd run), KiB | " cell(k "server_rss_anon_kib", 0, 1) " |"
  }
  k = "chatd" SUBSEP "paced" SUBSEP "256" SUBSEP
  if ((k "server_rss_kib") in vals) print "| RSS with 256 clients in (VmRSS at the end of paced N=256), KiB | " cell(k "server_rss_kib", 0, 1) " |"
  k = "chatd" SUBSEP "fast" SUBSEP "256" SUBSEP
  if ((k "server_peak_rss_kib") in vals) print "| peak RSS with 256 clients in (fast N=256, VmHWM), KiB | " cell(k "server_peak_rss_kib", 0, 1) " |"
  k = "chatd" SUBSEP "paced" SUBSEP "256" SUBSEP
  if ((k "server_peak_rss_kib") in vals) print "| peak RSS with 256 clients in (paced N=256, VmHWM), KiB | " cell(k "server_peak_rss_kib", 0, 1) " |"
  if (("x" SUBSEP "size_chatd_bytes") in vals) print "| chatd binary (release, stripped), bytes | " med("x" SUBSEP "size_chatd_bytes") " |"
  if (("x" SUBSEP "size_chatc_bytes") in vals) print "| chatc binary (release, stripped), bytes | " med("x" SUBSEP "size_chatc_bytes") " |"
  if (("x" SUBSEP "ngircd_idle_rss_kib") in vals) print "| ngircd RSS idle, KiB (for comparison) | " med("x" SUBSEP "ngircd_idle_rss_kib") " |"
  if (("x" SUBSEP "ngircd_idle_rss_anon_kib") in vals) print "| ngircd private memory idle, KiB (RssAnon, for comparison) | " med("x" SUBSEP "ngircd_idle_rss_anon_kib") " |"
  print ""
  hdr = 0
  for (p in bad) { if (!hdr) { print "## Runs that did not complete"; print ""; hdr = 1 } print "- " p ":" bad[p] }
  if (hdr) print ""
  hdr = 0
  for (p in notes) { if (!hdr) { print "## Notes from chat-bench"; print ""; hdr = 1 } print "- " p notes[p] }
}
function sum(k,   a, n, s, i) { if (!(k in vals)) return "-"; n = split(vals[k], a, " "); s = 0; for (i = 1; i <= n; i++) s += a[i]; return s }
' "${files[@]}"
