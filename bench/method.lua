-- wrk script: replay the (presigned) URL with the method in $BENCH_METHOD (HEAD, DELETE); a
-- presigned URL is signed for one method, so the script must send that one.
wrk.method = assert(os.getenv("BENCH_METHOD"))
