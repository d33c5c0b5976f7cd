-- wrk script for bench/platform_capacity.py: one script, two modes, so that both figures
-- come from the same generator doing the same per-request Lua work.
--
--   wrk ... -s bench/capacity.lua URL -- static   API_KEY
--   wrk ... -s bench/capacity.lua URL -- stateful API_KEY SURVEY_ID
--
-- static:   every request is GET /__admin/static-page.
-- stateful: respondents walk take -> submit-page ... -> "survey_complete", then a new take.
--
-- Why a queue of sessions rather than one session per connection: wrk runs all of a thread's
-- connections in one Lua state, and response() is not told which connection answered, so
-- per-connection state is impossible with several connections per thread (and one OS thread
-- per connection would spend the load core on context switches). Tokens are self-contained,
-- though: the platform finds the session from the token alone, on any connection. So a
-- response pushes its session (new token + next form) on a per-thread queue, and request()
-- pops one, or opens a new session with take when none is waiting. Each session still has
-- exactly one request in flight at a time and always echoes its latest token; the number of
-- live sessions is bounded by the number of connections.

local mode, api_key, survey_id
local take_req, static_req, submit_path
local queue, head, tail = {}, 1, 0
-- per-thread counters, read by done() through thread:get()
takes, submits, completes, bad = 0, 0, 0, 0
first_bad = ""

local function note_bad(status, body)
  bad = bad + 1
  if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 300) end
end

function init(args)
  mode, api_key, survey_id = args[1], args[2], args[3]
  static_req = wrk.format("GET", "/__admin/static-page", { ["api-key"] = api_key })
  if mode == "stateful" then
    local base = "/a/api/v2/surveys/" .. survey_id
    take_req = wrk.format("GET", base .. "/take", { ["api-key"] = api_key })
    submit_path = base .. "/submit-page"
  elseif mode ~= "static" then
    error("mode must be static or stateful, got " .. tostring(mode))
  end
end

function request()
  if mode == "static" then
    return static_req
  end
  if head > tail then
    takes = takes + 1
    return take_req
  end
  local s = queue[head]
  queue[head] = nil
  head = head + 1
  submits = submits + 1
  return wrk.format("POST", submit_path, {
    ["api-key"] = api_key,
    ["content-type"] = "application/json",
    ["x-survey-token"] = s.token,
  }, s.form)
end

function response(status, headers, body)
  local reply = string.match(body, '"status":"([%w_]+)"')
  if status ~= 200 then
    return note_bad(status, body)
  end
  if mode == "static" then
    if reply ~= "success" then note_bad(status, body) end
    return
  end
  if reply == "survey_complete" then
    completes = completes + 1
    return
  end
  local token = headers["x-survey-token"]
  if reply ~= "success" or token == nil then
    return note_bad(status, body)
  end
  -- Answer every question on the page with its first answer (single-choice questions only;
  -- the bench survey has nothing else): {"u_<questionId>":"<answerId>", ...}.
  local fields = {}
  for q, a in string.gmatch(body, "data%-question%-id='(%d+)'.-data%-answer%-id='(%d+)'") do
    fields[#fields + 1] = '"u_' .. q .. '":"' .. a .. '"'
  end
  tail = tail + 1
  queue[tail] = { token = token, form = "{" .. table.concat(fields, ",") .. "}" }
end

-- setup() and done() run in the main Lua state: keep the threads to read their counters.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local t = { takes = 0, submits = 0, completes = 0, bad = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
    if first == "" then first = thread:get("first_bad") end
  end
  local e = summary.errors
  -- One machine-readable line for the driver (latencies in microseconds).
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d " ..
    "takes=%d submits=%d completes=%d bad=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    t.takes, t.submits, t.completes, t.bad))
  if first ~= "" then io.write("FIRST_BAD " .. string.gsub(first, "\n", " ") .. "\n") end
end
