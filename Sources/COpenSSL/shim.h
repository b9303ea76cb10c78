// The MD5_CTX functions are deprecated in OpenSSL 3 (and absent from a no-deprecated build),
// but MD5_Update on an MD5_CTX is the only way to run OpenSSL's MD5 from a given chaining state:
// SigV4's MD5Combiner moves streams between it and vector lanes. SHA256_CTX likewise: HMAC-SHA256
// on a context on the stack, without the EVP layer's allocations and dispatch per call.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
