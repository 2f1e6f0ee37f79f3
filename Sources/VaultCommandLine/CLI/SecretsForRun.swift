import VaultCore
import VaultCrypto

/// The keys a `run`, `env` or `inject` reads, their values, and whose credential opened them:
/// the agent key alone when `VAULT_AGENT_KEY` or `--agent-key-file` is given, else the
/// passphrase.
struct SecretsForRun {
  /// Which variables carry which keys, with the values opened (none for `--dry-run`).
  var injection: Injection
  /// The plan behind it, with the reasons `--dry-run` shows; nil when served from the run cache
  /// (which a dry run never is).
  var plan: InjectionPlan?
  /// The agent key's token used, if any: whose it is, its expiry and any grace period after a
  /// rotation.
  var terms: TokenTerms?
  /// The vault file the agent key read, links resolved: the use is recorded beside it without
  /// resolving the path a second time (realpath reads every component of the path).
  var vaultPath: String? = nil

  /// Whether an agent key rather than the passphrase is the credential.
  static func usesAgentKey(_ context: Context) -> Bool {
    !(context.environment[CredentialVariable.agentKey.name] ?? "").isEmpty || ProcessCredentials.value(.agentKey) != nil
      || context.arguments.value("agent-key-file") != nil
  }

  /// Selects, checks the plan, and (unless `decrypt` is false, for `--dry-run`) decrypts.
  /// `ownNamesOnly` plans each key under its own name only (see `InjectionPlan`).
  static func load(_ context: Context, selectors: KeySelectors, decrypt: Bool, ownNamesOnly: Bool = false) throws
    -> SecretsForRun
  {
    let now = Timestamp.now()
    if usesAgentKey(context) {
      let token = try context.agentToken()
      let store = context.store
      // Every key the token reads, as `vault run` and `vault env` without selectors take them:
      // the launch the run cache serves (RunCache: what the last such launch injected,
      // while the vault file and the binary are unchanged).
      let cache =
        selectors.isEmpty && decrypt && !ownNamesOnly ? RunCache.forUser(environment: context.environment) : nil
      if let cache {
        let target = store.targetPath
        if let hit = cache.load(token: token, vaultPath: target, now: now, records: store.generationRecords) {
          ProcessCredentials.discardAll()
          return SecretsForRun(injection: hit.injection, plan: nil, terms: hit.terms, vaultPath: target)
        }
      }
      let access: AgentAccess
      do {
        access = try AgentAccess(store: store, token: token, now: now)
      } catch {
        // Refused (revoked, expired, unknown) or unreadable: what it cached is of no use now.
        cache?.remove(tokenID: token.id)
        throw error
      }
      let plan = try InjectionPlan(try access.select(selectors), ownNamesOnly: ownNamesOnly)
      let values = decrypt ? try access.open(plan.keys) : [:]
      let terms = TokenTerms(agent: access.agent, credential: access.session.keyring.credential)
      let injection = Injection(plan: plan, values: values)
      cache?.store(
        token: token, session: access.session, injection: injection, terms: terms, records: store.generationRecords)
      // The keys are open: the credential is not needed again.
      ProcessCredentials.discardAll()
      return SecretsForRun(injection: injection, plan: plan, terms: terms, vaultPath: access.session.vaultPath)
    }
    let store = context.store
    // With a passphrase from a file or variable, the records are parsed while scrypt runs. A bad
    // selection is still reported before a wrong passphrase, which only `unlock` finds out.
    let credential = context.credential
    let stretched = decrypt ? try store.readStretching(credential) : nil
    let locked = try stretched?.locked ?? store.read()
    let selected = try KeySelection.select(from: locked.document.keys, readable: nil, selectors: selectors)
    let plan = try InjectionPlan(selected, ownNamesOnly: ownNamesOnly)
    var values: [RecordID: SecretBytes] = [:]
    if decrypt {
      values.reserveCapacity(plan.keys.count)
      let unlocked = try stretched.map { try store.unlock($0) } ?? store.unlock(locked, credential: credential)
      for (key, value) in zip(plan.keys, try unlocked.keyring.open(plan.keys)) { values[key.id] = value }
      // The key is derived and the values open: the passphrase is not needed again.
      ProcessCredentials.discardAll()
    }
    return SecretsForRun(injection: Injection(plan: plan, values: values), plan: plan, terms: nil)
  }

  /// Records the use in the state file and warns when the agent key is close to expiry. A state
  /// file that cannot be written is a warning, never a failed run.
  func recordUse(_ context: Context) {
    do {
      let store = context.store
      if let warning = try UsageState.recordUse(
        forVault: vaultPath ?? store.targetPath, agentID: terms?.agentID, keyIDs: injection.keys.map(\.id), at: .now(),
        lockTimeout: store.lockTimeout)
      {
        Console.warning(warning)
      }
    } catch let error as VaultError {
      Console.warning("could not record this use: \(error.message)")
    } catch {
      Console.warning("could not record this use")
    }
    if let terms { Self.warnAboutExpiry(terms, now: .now()) }
  }

  /// A token in the grace period after `rotate` says so, and when the new token expires; any
  /// other token warns within 7 days of its expiry.
  static func warnAboutExpiry(_ terms: TokenTerms, now: Timestamp) {
    let expires = terms.effectiveExpiry
    let remaining = Lifetime.remaining(until: expires, from: now)
    if let retireAt = terms.retireAt, retireAt <= terms.notAfter {
      let next = terms.successorNotAfter.map { "; the new token expires on \($0.rfc3339)" } ?? ""
      Console.warning(
        "agent key \(terms.agentName) was rotated: this old token's grace period ends \(remaining) (\(expires.rfc3339))\(next)"
      )
    } else if expires.secondsSinceEpoch - now.secondsSinceEpoch < 7 * 86_400 {
      Console.warning("agent key \(terms.agentName) expires \(remaining) (\(expires.rfc3339))")
    }
  }

  static func selectors(_ context: Context) throws -> KeySelectors {
    let arguments = context.arguments
    for model in arguments.values("model") { try Names.validateModel(model) }
    return KeySelectors(
      keys: arguments.values("key"), providers: try arguments.values("provider").map(Names.normalizedProvider),
      models: arguments.values("model"))
  }

  static let options: [CommandSpec.Option] = [
    .init(name: "key", value: "<name>", repeatable: true, help: "Only this provider key."),
    .init(name: "provider", value: "<provider>", repeatable: true, help: "Only the keys of this provider."),
    .init(
      name: "model", value: "<model>", repeatable: true, help: "Only the key linked to this model (or of its provider)."
    ),
    .init(
      name: "agent-key-file", value: "<file>", help: "Unlock with the agent key in this file instead of the passphrase."
    ),
  ]
}
