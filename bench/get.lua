-- wrk script of bench/run: GET a machine action (the id is in the URL bench/run passes).
-- BENCH_TOKEN: the bearer token (default "bench").
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "bench")
