-- wrk script of bench/run: POST the live-response request.
--
-- Environment (bench/run sets all of them; by hand, all are optional):
--   BENCH_TOKEN          bearer token (default "bench")
--   BENCH_MACHINES_FILE  one machine id a line (its first word; blank and # lines skipped).
--                        Without it the request is static (wrk builds it once, for the id
--                        in the URL). With it, each request goes to the next id of the file
--                        instead, built in request(); the threads take turns, so one pass
--                        over the file sends one POST to each machine.
--   BENCH_MACHINE_START  1-based position in the file of the first request (default 1);
--                        positions past the end wrap around
--   BENCH_THREADS        wrk's -t, so that the threads share the positions (default 1)
-- With a machines file, done() prints "machines: ... next position N" (N not wrapped),
-- the BENCH_MACHINE_START that continues where this run stopped.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "bench")
wrk.body = '{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}'

local machines_file = os.getenv("BENCH_MACHINES_FILE") or ""
if machines_file ~= "" then
  local start = tonumber(os.getenv("BENCH_MACHINE_START") or "") or 1
  local step = tonumber(os.getenv("BENCH_THREADS") or "") or 1
  local threads = {}

  -- main state: number the threads
  function setup(thread)
    threads[#threads + 1] = thread
    thread:set("thread_index", #threads - 1)
  end

  -- thread state: globals sent and nids are read back by done()
  local ids, head, tail, pos
  function init(args)
    ids, nids, sent = {}, 0, 0
    for line in io.lines(machines_file) do
      local id = line:match("^%s*(%S+)")
      if id and id:sub(1, 1) ~= "#" then nids = nids + 1; ids[nids] = id end
    end
    assert(nids > 0, "no machine ids in " .. machines_file)
    -- the whole request once, with a marker where the id goes, cut in two around it
    local pre, post = wrk.path:match("^(.-/machines/)[^/]*(/.*)$")
    assert(pre, "URL path has no /machines/{id}/: " .. wrk.path)
    local marker = "<machine-id>"
    local req = wrk.format(nil, pre .. marker .. post)
    local at = req:find(marker, 1, true)
    head, tail = req:sub(1, at - 1), req:sub(at + #marker)
    pos = start - 1 + (thread_index or 0)  -- 0-based, not wrapped
    if (thread_index or 0) >= step then
      io.stderr:write("post.lua: set BENCH_THREADS to wrk's -t, or the threads POST to the same machines\n")
    end
  end

  function request()
    local id = ids[pos % nids + 1]
    pos = pos + step
    sent = sent + 1
    return head .. id .. tail
  end

  function done(summary, latency, requests)
    local most, total, n = 0, 0, 0
    for _, t in ipairs(threads) do
      local s = t:get("sent") or 0
      most, total, n = math.max(most, s), total + s, t:get("nids") or n
    end
    io.write(string.format("machines: %d ids in %s; %d POSTs sent from position %d; next position %d\n",
      n, machines_file, total, start, start + most * step))
  end
end
