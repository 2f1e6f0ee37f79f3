/* scrypt alone, as `vault` runs it: OpenSSL's EVP_PBE_scrypt (r=8, p=1) with the allocator the
 * vault gives OpenSSL at start-up (Sources/VaultCrypto/OpenSSLMemory.swift): a buffer of 2 MiB or
 * more starts on a huge-page boundary and is advised MADV_HUGEPAGE. bench/kdf.py compiles it and
 * takes it as the baseline of "beyond scrypt", so the vault's faster scrypt is not counted as
 * the vault's code being faster. Not part of the product; the vault never runs this.
 *
 * Usage: scrypt_alone LOG_N */
#define _GNU_SOURCE
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2 << 20 };

static void *allocate(size_t count, const char *file, int line) {
  (void)file, (void)line;
  if (count == 0) return NULL;
  if (count < HUGE_PAGE) return malloc(count);
  void *memory = NULL;
  if (posix_memalign(&memory, HUGE_PAGE, count) != 0) return NULL;
  (void)madvise(memory, count, MADV_HUGEPAGE);
  return memory;
}

static void *reallocate(void *memory, size_t count, const char *file, int line) {
  if (memory == NULL) return allocate(count, file, line);
  if (count == 0) {
    free(memory);
    return NULL;
  }
  return realloc(memory, count);
}

static void release(void *memory, const char *file, int line) {
  (void)file, (void)line;
  free(memory);
}

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  if (!CRYPTO_set_mem_functions(allocate, reallocate, release)) return 2;
  unsigned char key[32];
  const char *password = "bench passphrase";
  static const unsigned char salt[16] = "0123456789abcdef";
  return EVP_PBE_scrypt(password, strlen(password), salt, sizeof salt, 1ull << atoi(argv[1]), 8, 1, 1ull << 30, key,
                        sizeof key) == 1 ? 0 : 1;
}
