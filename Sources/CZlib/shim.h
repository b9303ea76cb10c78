#include <zlib.h>
// deflateInit2 is a macro, which Swift cannot call: a wrapper that starts a gzip stream (a gzip
// header and trailer around raw deflate: windowBits 15 + 16, the default memory level).
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
