/// The files `vault` keeps beside a vault file: its lock, the usage snapshot, the snapshot's lock
/// and the usage log. One list for the checks that must know them all: `vault doctor`'s, and the
/// refusal to write a command's output over one of them (`OutputFile`).
struct CompanionFiles {
  let lock: String
  let state: String
  let stateLock: String
  let log: String

  /// The companions of the vault file at `target` (links resolved).
  init(ofVault target: String) {
    lock = target + ".lock"
    state = UsageState.path(forVault: target)
    stateLock = state + ".lock"
    log = UsageLog.path(forVault: target)
  }

  /// All four, in the order `vault doctor` reports them.
  var all: [String] { [lock, state, log, stateLock] }
  /// The two lock files.
  var locks: [String] { [lock, stateLock] }
}
