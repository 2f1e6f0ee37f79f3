import VaultCore

/// `vault unlock`: the passphrase once, then no prompt and no scrypt until the session ends.
enum UnlockCommand: Command {
  static let spec = CommandSpec(
    name: "unlock", summary: "Keep the vault unlocked for this login session (default 15 minutes).",
    options: [
      .init(name: "for", value: "<duration>", help: "How long: e.g. 15m, 2h, 1d (at most 24h).")
    ],
    discussion: """
      The master key is kept in the kernel keyring of this login session, readable only by its
      processes, and destroyed by the kernel when the time is up; where keyctl is refused (many
      containers) a small agent process keeps it behind a 0600 socket instead. Every command that
      needs the passphrase uses the session first. 'vault lock' ends it at once; 'vault passwd'
      ends it everywhere. Who can use a session: docs/SECURITY.md, "Unlock sessions".
      """)

  static func run(_ context: Context) throws {
    let seconds = try lifetime(context.arguments.value("for"))
    let sessions = UnlockSessions(environment: context.environment)
    let pinned = try sessions.pinnedBackend()
    let store = context.store
    let locked = try store.read()
    // Never a session: starting or extending one proves the passphrase (or identity) again.
    var credential = context.credential
    credential.session = nil
    let unlocked = try store.unlock(locked, credential: credential)
    let expires = Timestamp(secondsSinceEpoch: Timestamp.now().secondsSinceEpoch + seconds)
    let record = try unlocked.keyring.sessionRecord(
      for: locked.document, access: unlocked.access, expires: expires)
    let backend = try sessions.start(record, seconds: seconds)
    let fallback = backend == .agent && pinned == nil ? " (keyctl is refused here)" : ""
    Console.err(
      "vault: unlocked \(context.location.path) until \(expires.rfc3339) (\(SessionTime.span(seconds))), in \(backend.described)\(fallback); 'vault lock' ends it\n"
    )
  }

  /// Seconds in a `--for` value: the agent keys' duration syntax, from one minute to a day.
  static func lifetime(_ text: String?) throws -> Int64 {
    guard let text else { return UnlockSessionRecord.defaultLifetime }
    guard let seconds = Lifetime.seconds(text) else {
      throw VaultError.invalidInput("invalid duration '\(DisplaySafety.sanitized(text))': use e.g. 15m, 2h or 1d")
    }
    guard seconds >= 60, seconds <= UnlockSessionRecord.maximumLifetime else {
      throw VaultError.invalidInput("an unlock session lasts from 1 minute to 24 hours")
    }
    return seconds
  }
}

/// `vault lock`: ends this vault's session at once.
enum LockCommand: Command {
  static let spec = CommandSpec(
    name: "lock", summary: "End the unlock session of this vault at once.",
    discussion: """
      Destroys the session's key in the kernel keyring of this login session and stops an unlock
      agent. Later commands ask for the passphrase again.
      """)

  static func run(_ context: Context) throws {
    let header = try context.store.read(warningOfRollback: false).document.header
    let ended = UnlockSessions(environment: context.environment).end(vaultID: header.id)
    Console.err(
      ended.isEmpty
        ? "vault: \(context.location.path) was not unlocked in this login session\n"
        : "vault: locked \(context.location.path)\n")
  }
}

/// `vault status`: whether the vault is unlocked, until when, and where the key is held.
enum StatusCommand: Command {
  static let spec = CommandSpec(
    name: "status", summary: "Say whether the vault is unlocked, and until when.",
    options: [.init(name: "json", help: "Print a JSON object.")],
    discussion: "Exits 0 either way; '--json' gives scripts the same facts.")

  static func run(_ context: Context) throws {
    let document = try context.store.read(warningOfRollback: false).document
    let now = Timestamp.now()
    let found = UnlockSessions(environment: context.environment).find(vaultID: document.header.id)
    // A session of an older passphrase no longer opens the file: it counts as locked.
    let live = found.flatMap {
      $0.record.access(document.header, members: document.members, now: now) != nil ? $0 : nil
    }
    if context.arguments.flag("json") {
      var writer = JSONWriter(escapingUnsafeScalars: true)
      writer.raw("{\"vault\":")
      writer.string(context.location.path)
      writer.raw(live == nil ? ",\"unlocked\":false" : ",\"unlocked\":true")
      if let live {
        writer.raw(",\"expires\":")
        writer.string(live.record.expires.rfc3339)
        writer.raw(",\"backend\":")
        writer.string(live.backend.rawValue)
      }
      writer.raw("}\n")
      Console.outBytes(writer.bytes)
      return
    }
    guard let live else {
      let stale = found != nil ? " (its session ended: the passphrase or the members changed since)" : ""
      Console.out("\(context.location.path): locked\(stale)\n")
      return
    }
    let left = live.record.expires.secondsSinceEpoch - now.secondsSinceEpoch
    Console.out(
      "\(context.location.path): unlocked until \(live.record.expires.rfc3339) (\(SessionTime.span(left)) left), in \(live.backend.described)\n"
    )
  }
}

/// Durations as people read them: "15 minutes", "2 hours 5 minutes".
enum SessionTime {
  static func span(_ seconds: Int64) -> String {
    let hours = seconds / 3_600
    let minutes = (seconds % 3_600 + 59) / 60
    func plural(_ count: Int64, _ unit: String) -> String { "\(count) \(unit)\(count == 1 ? "" : "s")" }
    if hours == 0 { return plural(max(minutes, 1), "minute") }
    return minutes == 0 ? plural(hours, "hour") : plural(hours, "hour") + " " + plural(minutes, "minute")
  }
}
