// Debian and Ubuntu (libpq-dev) put libpq's headers in /usr/include/postgresql; other systems
// (Homebrew, pkg-config -I) put them on the include path itself. libpq-fe.h includes its siblings
// with quotes, so they resolve next to it either way.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

// PQresultErrorField's field codes are character-literal macros Swift does not import.
static inline const char *cpg_sqlstate(const PGresult *r) { return PQresultErrorField(r, PG_DIAG_SQLSTATE); }
static inline const char *cpg_primary_message(const PGresult *r) {
    return PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
}
