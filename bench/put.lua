-- wrk script: PUT the bytes of $BENCH_BODY_FILE to the (presigned) URL on every request.
local path = os.getenv("BENCH_BODY_FILE")
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "PUT"
wrk.body = body
