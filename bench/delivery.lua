-- wrk script: POST a one-event deactivation delivery, with ids unique per request so that the
-- receiver really handles each one (a repeated eventId would take its cheaper duplicate path).
-- BENCH_BODY names a file holding the body, with __ID__ where the ids go; BENCH_AUTH is the
-- Authorization header value; BENCH_RUN is unique per wrk run, so that a later run's ids never
-- repeat an earlier one's.
local threads = {}
local counter = 0
local template

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   local file = assert(io.open(os.getenv("BENCH_BODY"), "r"))
   template = file:read("*a")
   file:close()
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Accept"] = "application/json"
   wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end

function request()
   counter = counter + 1
   local body = (template:gsub("__ID__", os.getenv("BENCH_RUN") .. "-" .. tid .. "-" .. counter))
   return wrk.format(nil, "/", nil, body)
end
