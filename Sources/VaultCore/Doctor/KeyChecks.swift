/// Agent keys and provider keys, from their records in clear and the usage state.
enum KeyChecks {
  /// An active agent key whose token expires within this many days is reported.
  static let expiryWarningDays: Int64 = 14
  /// A provider key unused for this many days is reported.
  static let unusedDays: Int64 = 90

  /// Active agent keys that expire within 14 days: the agent stops working then. Expired and
  /// revoked ones already refuse every use, so they are not findings.
  static let agentExpiry = DoctorCheck(name: "agent-key-expiry") { subject in
    guard let document = subject.document else { return [] }
    return document.agents.compactMap { agent in
      guard agent.status(at: subject.now) == .active,
        agent.expires.secondsSinceEpoch - subject.now.secondsSinceEpoch < expiryWarningDays * 86_400
      else { return nil }
      return DoctorFinding(
        check: "agent-key-expiry", subject: agent.name,
        message:
          "agent key \(agent.name) expires on \(agent.expires.day) (\(Lifetime.remaining(until: agent.expires, from: subject.now)))",
        fix: "vault agent-key rotate \(agent.name), and hand the agent its new token")
    }
  }

  /// Provider keys not used for 90 days (the last use in the usage state, else the day the key
  /// was added): a key nobody uses is exposure without benefit.
  static let unusedKeys = DoctorCheck(name: "unused-keys") { subject in
    guard let document = subject.document else { return [] }
    let usage = subject.store.usage()
    return document.keys.compactMap { key in
      let lastUsed = usage.keys[key.id.description]?.lastUsed
      let since = lastUsed ?? key.created
      let days = (subject.now.secondsSinceEpoch - since.secondsSinceEpoch) / 86_400
      guard days >= unusedDays else { return nil }
      let when =
        lastUsed == nil
        ? "has not been used since it was added on \(since.day)" : "was last used on \(since.day)"
      return DoctorFinding(
        check: "unused-key", subject: key.name,
        message: "provider key \(key.name) \(when), \(days) days ago",
        fix:
          "remove it ('vault rm \(key.name)') if nothing needs it, or rotate it at the provider and 'vault edit \(key.name) --value'"
      )
    }
  }

  /// Provider keys whose masked form is shaped like another provider's key (an `AIz…` key
  /// linked to openai): probably linked to the wrong provider, so its SDK gets a key it
  /// rejects. Only what the masked form shows can be checked without the passphrase
  /// (`KeyAdvice.provider(forMasked:)`).
  static let keyShape = DoctorCheck(name: "key-shape") { subject in
    guard let document = subject.document else { return [] }
    return document.keys.compactMap { key in
      guard let provider = key.provider, let shaped = KeyAdvice.provider(forMasked: key.masked), shaped != provider
      else { return nil }
      return DoctorFinding(
        check: "key-shape", subject: key.name,
        message:
          "provider key \(key.name) (\(key.masked)) is shaped like a key of \(shaped), but it is linked to \(provider)",
        fix: "vault edit \(key.name) --provider \(shaped), if it is a \(shaped) key")
    }
  }
}
