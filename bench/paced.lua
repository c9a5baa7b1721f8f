-- wrk script: each connection waits PACE_MS (default 2) between requests, so that 64
-- connections offer a fixed rate (about 25,000 requests a second) instead of as many as the
-- server can answer.
local ms = tonumber(os.getenv("PACE_MS") or "2")
function delay() return ms end
