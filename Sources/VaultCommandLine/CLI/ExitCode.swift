import VaultCore

/// The documented exit codes (README, "Exit codes"). Stable: scripts branch on them.
enum ExitCode: Int32 {
  case success = 0
  /// An I/O error, a full disk, anything not listed below.
  case failure = 1
  /// No such provider key, or no vault file.
  case notFound = 3
  /// The name or vault exists already.
  case alreadyExists = 4
  /// The passphrase is wrong, or no identity tried is a member (and there is no passphrase).
  case wrongPassphrase = 5
  /// The file is damaged or was edited.
  case integrity = 6
  /// The file was written by a format version this build does not read.
  case unsupportedFormat = 7
  /// Another vault process held the lock too long.
  case busy = 8
  /// The file's type, owner or mode is unsafe.
  case unsafeFile = 9
  /// A destructive command was not confirmed.
  case notConfirmed = 10
  /// The agent key cannot be used: malformed, unknown, revoked or expired.
  case accessNotPermitted = 11
  /// The agent key is valid, but what was asked for is outside its scope.
  case permissionDenied = 12
  /// The vault's limit of active agent keys is reached.
  case limitReached = 13
  /// Two keys claim one environment variable.
  case conflict = 14
  /// `vault run`: the command was found but cannot be executed (as env(1)).
  case commandNotExecutable = 126
  /// `vault run`: the command was not found (as env(1)).
  case commandNotFound = 127
  /// The command line is wrong, or no passphrase source is available.
  case usage = 64
  /// An input breaks a rule: name, value, provider, model, .env line.
  case invalidInput = 65

  init(_ error: VaultError) {
    switch error {
    case .usage, .passphraseUnavailable: self = .usage
    case .invalidInput: self = .invalidInput
    case .vaultNotFound, .keyNotFound, .agentNotFound: self = .notFound
    case .vaultExists, .keyExists, .agentExists: self = .alreadyExists
    case .accessNotPermitted: self = .accessNotPermitted
    case .permissionDenied: self = .permissionDenied
    case .agentLimitReached: self = .limitReached
    case .injectionConflict: self = .conflict
    case .commandNotFound: self = .commandNotFound
    case .commandNotExecutable: self = .commandNotExecutable
    case .wrongPassphrase, .noPassphraseSlot, .notAMember: self = .wrongPassphrase
    case .integrity, .rollback: self = .integrity
    case .unsupportedFormat: self = .unsupportedFormat
    case .busy: self = .busy
    case .insecureFile: self = .unsafeFile
    case .notConfirmed: self = .notConfirmed
    case .io, .outOfMemory, .mergeRefused: self = .failure
    }
  }
}
