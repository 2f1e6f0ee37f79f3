import CLinux

#if canImport(Glibc)
  import Glibc
#endif

/// While `vault` holds secrets it is not dumpable (no core file, no ptrace by other processes of
/// the same user) and its core size limit is 0. A child gets the system's normal settings back:
/// execve restores dumpability by itself; the core limit is put back just before the exec.
public enum ProcessHygiene {
  nonisolated(unsafe) private static var originalCoreLimit = rlimit()
  nonisolated(unsafe) private static var hardened = false
  private static let coreResource = __rlimit_resource_t(RLIMIT_CORE.rawValue)

  public static func harden() {
    _ = vault_set_not_dumpable()
    if getrlimit(coreResource, &originalCoreLimit) == 0 {
      var none = rlimit(rlim_cur: 0, rlim_max: originalCoreLimit.rlim_max)
      hardened = setrlimit(coreResource, &none) == 0
    }
  }

  /// Puts the core limit back for the child about to be executed (this process stays
  /// non-dumpable, so it still writes no core meanwhile).
  static func restoreForChild() {
    guard hardened else { return }
    _ = setrlimit(coreResource, &originalCoreLimit)
  }

  /// Sets the core limit to 0 again once a spawned child has its own copy.
  static func rehardenAfterSpawn() {
    guard hardened else { return }
    var none = rlimit(rlim_cur: 0, rlim_max: originalCoreLimit.rlim_max)
    _ = setrlimit(coreResource, &none)
  }
}
