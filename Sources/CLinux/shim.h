#ifndef LLM_VAULT_CLINUX_SHIM_H
#define LLM_VAULT_CLINUX_SHIM_H

// Linux calls Swift's Glibc module does not import: prctl(2) lives in <sys/prctl.h>.
#include <sys/prctl.h>

/// Marks the process not dumpable: no core file, and no ptrace attach by other processes of
/// the same user. Returns prctl's result (0 on success).
static inline int vault_set_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

/// The current dumpable attribute (1 dumpable, 0 not), for tests.
static inline int vault_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

#endif
