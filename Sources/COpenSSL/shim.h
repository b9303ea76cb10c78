// MD5_CTX's block function is deprecated in OpenSSL 3 but is the only way to run MD5 from a
// given chaining state (SigV4's MD5Combiner moves streams between it and vector lanes).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/md5.h>
