/// Every failure the vault reports. Each case says what happened in one line (`message`) and,
/// where it helps, what to do next (`hint`). No case carries a secret value: names, paths and
/// counts only.
public enum VaultError: Error, Equatable, Sendable {
  /// The command line itself is wrong (unknown flag, missing argument).
  case usage(String)
  /// An input breaks a rule (name, value, provider, model, .env line).
  case invalidInput(String)
  /// No vault file at the path.
  case vaultNotFound(path: String)
  /// `vault init` found a file already there.
  case vaultExists(path: String)
  /// No provider key of that name.
  case keyNotFound(name: String)
  /// A provider key of that name exists already.
  case keyExists(name: String)
  /// No agent key of that name.
  case agentNotFound(name: String)
  /// An agent key of that name exists already.
  case agentExists(name: String)
  /// Creating one more active agent key would pass the vault's limit.
  case agentLimitReached(limit: Int)
  /// The token cannot be used: malformed, unknown, revoked or expired.
  case accessNotPermitted(AgentAccessError)
  /// The token is valid but the provider key asked for is outside its scope.
  case permissionDenied(String)
  /// Two keys claim one environment variable in a run.
  case injectionConflict(String)
  /// The command to run could not be started: not found (127) or not executable (126).
  case commandNotFound(String)
  case commandNotExecutable(String)
  /// The passphrase does not open the master key.
  case wrongPassphrase
  /// No passphrase source: no terminal, and neither of the two variables (`fileVariable`, e.g.
  /// VAULT_PASSPHRASE_FILE, and `valueVariable`) that would give it.
  case passphraseUnavailable(fileVariable: String, valueVariable: String)
  /// The file is damaged or was edited: a checksum, MAC, tag or structure check failed.
  case integrity(String)
  /// The file was written by a format version this build does not read.
  case unsupportedFormat(String)
  /// The file's generation is lower than one this user has seen: an older copy.
  case rollback(found: UInt64, seen: UInt64)
  /// Another process holds the vault's lock for longer than we wait.
  case busy(path: String)
  /// The file's type, owner or mode makes it unsafe to use.
  case insecureFile(String, hint: String)
  /// A destructive command was not confirmed.
  case notConfirmed(String)
  /// The operating system refused a read or write.
  case io(String)
  /// The memory the vault's scrypt settings need could not be had (a process or container
  /// limit, or a small machine); the text says how much.
  case outOfMemory(String)
  /// A team vault without a passphrase slot, and no member's identity at hand.
  case noPassphraseSlot
  /// Identities were tried (their descriptions: file and recipient) and none is a member; the
  /// vault has no passphrase slot to fall back on.
  case notAMember(tried: [String])
  /// Three versions that cannot be merged at all: different vaults, or no common version.
  case mergeRefused(String)

  /// One line: what happened.
  public var message: String {
    switch self {
    case .usage(let text), .invalidInput(let text): return text
    case .vaultNotFound(let path): return "no vault at \(path)"
    case .vaultExists(let path): return "a vault already exists at \(path)"
    case .keyNotFound(let name): return "no provider key named \(name)"
    case .keyExists(let name): return "a provider key named \(name) already exists"
    case .agentNotFound(let name): return "no agent key named \(name)"
    case .agentExists(let name): return "an agent key named \(name) already exists"
    case .agentLimitReached(let limit): return "this vault already has \(limit) active agent keys, its limit"
    case .accessNotPermitted(let reason):
      switch reason {
      case .malformed: return "access not permitted: the agent key is malformed (mistyped or truncated)"
      case .unknown: return "access not permitted: no such agent key in this vault"
      case .revoked(let date): return "access not permitted: the agent key was revoked on \(date.rfc3339)"
      case .expired(let date): return "access not permitted: the agent key expired on \(date.rfc3339)"
      }
    case .permissionDenied(let text): return "permission denied: \(text)"
    case .injectionConflict(let text): return text
    case .commandNotFound(let command): return "command not found: \(command)"
    case .commandNotExecutable(let command): return "cannot execute \(command): permission denied or not a program"
    case .wrongPassphrase: return "wrong passphrase"
    case .passphraseUnavailable(let file, _):
      return file.contains("NEW")
        ? "a new passphrase is needed and there is no terminal to ask on"
        : "a passphrase is needed and there is no terminal to ask on"
    case .integrity(let text): return "vault file failed its integrity check: \(text)"
    case .unsupportedFormat(let text): return text
    case .rollback(let found, let seen):
      return
        "vault file is at generation \(found), older than generation \(seen) seen before: it may be an older copy, in which revoked agent keys work again; refusing to write to it"
    case .busy(let path): return "vault is busy: another vault process holds \(path)"
    case .insecureFile(let text, _): return text
    case .notConfirmed(let text): return text
    case .io(let text): return text
    case .outOfMemory(let text): return text
    case .noPassphraseSlot: return "this vault has no passphrase: it opens only with a member's identity"
    case .notAMember(let tried):
      return "none of the identities tried is a member of this vault (tried: \(tried.joined(separator: ", ")))"
    case .mergeRefused(let text): return "cannot merge: \(text)"
    }
  }

  /// What to do next, when there is something to say.
  public var hint: String? {
    switch self {
    case .vaultNotFound: return "create one with 'vault init', or point --file / VAULT_FILE at an existing vault"
    case .vaultExists: return "choose another path with --file, or remove the old vault first"
    case .keyNotFound: return "'vault list' shows the names in this vault"
    case .keyExists: return "choose another name, or change the value with 'vault edit NAME --value'"
    case .agentNotFound: return "'vault agent-key list' shows the agent keys in this vault"
    case .agentExists: return "choose another name, or 'vault agent-key rotate NAME' for a new token"
    case .agentLimitReached:
      return
        "revoke or remove an agent key ('vault agent-key revoke NAME'), or raise the limit with 'vault config set agent-keys.limit N'"
    case .accessNotPermitted(.malformed):
      return "check that the whole token was copied; it starts with vk_ and has 63 characters"
    case .accessNotPermitted: return "ask the vault's owner for a new agent key"
    case .permissionDenied(let text):
      return text.hasPrefix("member ")
        ? "ask an owner of the vault to make the change"
        : "the agent key's scope does not include it; 'vault agent-key verify' shows the scope"
    case .wrongPassphrase: return "check VAULT_PASSPHRASE_FILE / VAULT_PASSPHRASE, or type it again"
    case .passphraseUnavailable(let file, let value):
      return "set \(file) to a 0600 file holding it (or \(value)), or run on a terminal"
    case .integrity: return "the file is damaged or was edited; restore it from a backup"
    case .unsupportedFormat: return "use a vault build that reads this format"
    case .rollback:
      return
        "put the newest copy back; if you restored this one on purpose, run 'vault verify --accept-rollback' (then rotate or revoke the agent keys revoked since)"
    case .busy: return "try again when the other vault command has finished"
    case .outOfMemory:
      return "raise the memory limit (ulimit -v, the container's limit) or run on a machine with more free memory"
    case .insecureFile(_, let hint): return hint
    case .notConfirmed: return "pass --yes to confirm from a script"
    case .noPassphraseSlot: return "point VAULT_IDENTITY or --identity at your identity file"
    case .notAMember:
      return
        "ask an owner to run 'vault member add NAME RECIPIENT' with your recipient ('vault identity show' prints it)"
    case .mergeRefused:
      return
        "git has left the path conflicted with your version; pick one with 'git checkout --ours/--theirs PATH', then 'git add PATH'"
    default: return nil
    }
  }
}
