#ifndef LLM_VAULT_COPENSSL_SHIM_H
#define LLM_VAULT_COPENSSL_SHIM_H

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

// Whether an error code is OpenSSL's "malloc failure" (ERR_R_MALLOC_FAILURE is a compound macro
// Swift does not import).
static inline int vault_err_is_malloc_failure(unsigned long code) {
  return ERR_GET_REASON(code) == ERR_R_MALLOC_FAILURE;
}

// OSSL_PARAM keeps the pointer to its key name, so the name must outlive the parameter.
// Swift's temporary C strings do not (see shared/OPENSSL-FROM-SWIFT.md), hence these
// static-storage names and constructors.
static inline OSSL_PARAM vault_param_digest(const char *digestName) {
  return OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digestName, 0);
}

static inline OSSL_PARAM vault_param_key(const void *bytes, size_t count) {
  return OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)bytes, count);
}

static inline OSSL_PARAM vault_param_salt(const void *bytes, size_t count) {
  return OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)bytes, count);
}

static inline OSSL_PARAM vault_param_info(const void *bytes, size_t count) {
  return OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)bytes, count);
}

static inline const char *vault_sha256_name(void) { return "SHA256"; }

static inline const char *vault_hkdf_name(void) { return "HKDF"; }

#endif
