#include <curl/curl.h>
// curl_easy_setopt is variadic, which Swift cannot call: typed wrappers, one per argument kind.
static inline CURLcode ccurl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*ccurl_io_cb)(char *, size_t, size_t, void *);
static inline CURLcode ccurl_setopt_io(CURL *h, CURLoption o, ccurl_io_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
typedef size_t (*ccurl_header_cb)(char *, size_t, size_t, void *);
static inline CURLcode ccurl_setopt_header_cb(CURL *h, ccurl_header_cb v) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, v); }
static inline CURLcode ccurl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline int ccurl_write_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int ccurl_read_pause(void) { return CURL_READFUNC_PAUSE; }
static inline int ccurl_read_abort(void) { return CURL_READFUNC_ABORT; }
static inline int ccurl_pause_cont(void) { return CURLPAUSE_CONT; }
