#ifndef LLM_VAULT_COPENSSL_SHIM_H
#define LLM_VAULT_COPENSSL_SHIM_H

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <sys/mman.h>

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

// OpenSSL's allocator for `vault`, set before OpenSSL allocates anything. Scrypt asks for one
// buffer of 128·r·N bytes (16 MiB at N=2^14, 128 MiB at the default N=2^17), and the kernel
// zero-fills it one 4 KiB page fault at a time: 32,768 faults for every passphrase unlock.
// Buffers of 4 MiB and more are aligned to 2 MiB and advised as transparent huge pages
// (where the kernel offers them only on request, as Debian's `madvise` default does), which
// makes it 64 faults. Everything else is plain malloc; OpenSSL still wipes what it frees.
static void *vault_openssl_malloc(size_t size, const char *file, int line) {
  (void)file;
  (void)line;
  const size_t huge = (size_t)2 << 20;
  if (size == 0) return NULL;  // as CRYPTO_malloc itself answers
  if (size < 2 * huge) return malloc(size);
  void *pointer = NULL;
  if (posix_memalign(&pointer, huge, size) != 0) return NULL;
  (void)madvise(pointer, size & ~(size_t)4095, MADV_HUGEPAGE);  // advice only: failure is fine
  return pointer;
}

static void *vault_openssl_realloc(void *pointer, size_t size, const char *file, int line) {
  (void)file;
  (void)line;
  return realloc(pointer, size);
}

static void vault_openssl_free(void *pointer, const char *file, int line) {
  (void)file;
  (void)line;
  free(pointer);
}

// 1 when set; 0 when OpenSSL had already allocated (then its own allocator stays).
static inline int vault_openssl_use_huge_pages(void) {
  return CRYPTO_set_mem_functions(vault_openssl_malloc, vault_openssl_realloc, vault_openssl_free);
}

#endif
