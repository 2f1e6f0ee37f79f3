#ifndef LLM_VAULT_CLINUX_SHIM_H
#define LLM_VAULT_CLINUX_SHIM_H

// Linux calls Swift's Glibc module does not import: prctl(2) lives in <sys/prctl.h>.
#include <sys/prctl.h>
// getrandom(2), in <sys/random.h>.
#include <sys/random.h>
// The kernel key retention service: glibc has no wrappers for add_key(2) and keyctl(2), and
// Swift does not import the variadic syscall(2), so each call gets a fixed signature here.
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>
// The cleanup of a temporary file on SIGINT, SIGTERM or SIGHUP (below).
#include <signal.h>
#include <string.h>

/// Marks the process not dumpable: no core file, and no ptrace attach by other processes of
/// the same user. Returns prctl's result (0 on success).
static inline int vault_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/// The current dumpable attribute (1 dumpable, 0 not), for tests.
static inline int vault_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

/// add_key(2) of a "user" key into the calling process's session keyring; the key's serial
/// number, or -1 with errno set. The keyring is named by its id, not KEY_SPEC_SESSION_KEYRING:
/// add_key on the special id gives a process without a session keyring a new anonymous one,
/// which dies with it, while KEYCTL_GET_KEYRING_ID without create falls back to the user
/// session keyring, which later commands of this user find.
static inline long vault_add_session_key(const char *description, const void *payload, size_t length) {
  long keyring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  if (keyring < 0) return keyring;
  return syscall(SYS_add_key, "user", description, payload, length, keyring);
}

/// keyctl(KEYCTL_SEARCH) for a "user" key in the session keyring (and the keyrings it links).
static inline long vault_search_session_key(const char *description) {
  return syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", description, 0);
}

/// keyctl(KEYCTL_SETPERM): possessor-only view, read, write, search, link and setattr.
static inline long vault_key_possessor_only(long key) {
  return syscall(SYS_keyctl, KEYCTL_SETPERM, key, 0x3f000000);
}

/// keyctl(KEYCTL_SET_TIMEOUT): the kernel destroys the key `seconds` from now.
static inline long vault_key_set_timeout(long key, unsigned int seconds) {
  return syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, key, seconds);
}

/// keyctl(KEYCTL_READ): copies up to `length` bytes of the payload; returns its full size.
static inline long vault_key_read(long key, void *buffer, size_t length) {
  return syscall(SYS_keyctl, KEYCTL_READ, key, buffer, length);
}

/// keyctl(KEYCTL_INVALIDATE): the key is gone at once for every process.
static inline long vault_key_invalidate(long key) { return syscall(SYS_keyctl, KEYCTL_INVALIDATE, key); }

/// keyctl(KEYCTL_UNLINK) from the session keyring (for kernels older than 3.5, which lack
/// KEYCTL_INVALIDATE).
static inline long vault_key_unlink(long key) {
  return syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_SESSION_KEYRING);
}

/// close_range(2) of every descriptor from `first` up (the unlock agent keeps none of its
/// caller's); a loop where the kernel predates close_range (5.9).
static inline void vault_close_from(int first) {
  if (syscall(SYS_close_range, (unsigned int)first, ~0U, 0) == 0) return;
  long limit = sysconf(_SC_OPEN_MAX);
  for (int fd = first; fd < limit && fd < 65536; fd++) close(fd);
}

/// A temporary file removed if SIGINT, SIGTERM or SIGHUP stops the process while it is armed
/// (a save's temporary begun beside scrypt, before the save takes its lock: a Ctrl-C during the
/// KDF would otherwise leave a copy of the vault beside it until the next save). The handler
/// does only async-signal-safe calls, then dies by the same signal, as the default would.
/// One path at a time. The storage lives in functions, as Swift does not emit a header's static
/// variables; a static inline function's statics are per object file, so only one Swift file
/// (VaultCore's PreparedReplacement.swift) calls these.
static inline char *vault_cleanup_path(void) {
  static char path[4096];
  return path;
}

static inline volatile sig_atomic_t *vault_cleanup_armed(void) {
  static volatile sig_atomic_t armed;
  return &armed;
}

static inline void vault_cleanup_on_signal(int number) {
  if (*vault_cleanup_armed()) unlink(vault_cleanup_path());
  signal(number, SIG_DFL);
  raise(number);
}

/// Arms the cleanup for `path` (false when it is too long to hold). The handler is installed
/// only where the signal's disposition is the default: an ignored SIGHUP (nohup) or a handler
/// someone else installed stays as it is.
static inline int vault_arm_cleanup(const char *path) {
  size_t length = strlen(path);
  if (length >= 4096) return 0;
  *vault_cleanup_armed() = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  memcpy(vault_cleanup_path(), path, length + 1);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  *vault_cleanup_armed() = 1;
  const int numbers[] = {SIGINT, SIGTERM, SIGHUP};
  for (unsigned index = 0; index < 3; index++) {
    struct sigaction current;
    if (sigaction(numbers[index], NULL, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction cleanup;
    memset(&cleanup, 0, sizeof cleanup);
    cleanup.sa_handler = vault_cleanup_on_signal;
    sigemptyset(&cleanup.sa_mask);
    sigaction(numbers[index], &cleanup, NULL);
  }
  return 1;
}

/// Disarms it: the file is renamed, removed, or no longer this process's to remove.
static inline void vault_disarm_cleanup(void) { *vault_cleanup_armed() = 0; }

#endif
