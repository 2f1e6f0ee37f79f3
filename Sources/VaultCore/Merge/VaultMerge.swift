import VaultCrypto

/// A record the two sides changed in ways that do not combine. Names only, never values.
public struct MergeConflict: Equatable, Sendable, CustomStringConvertible {
  public enum Record: Equatable, Sendable {
    case providerKey(String)
    case agentKey(String)
    /// A vault setting, named as `vault config` names it (`agent-keys.limit`).
    case setting(String)
    /// The passphrase slot (`vault passwd` on both sides).
    case passphrase
    /// A member of a team vault: changed on both sides, or removed on one side and changed on
    /// the other (the removal stands).
    case member(String)
  }

  public var record: Record
  /// What happened, completing the sentence ("was changed on both sides").
  public var reason: String

  public init(_ record: Record, _ reason: String) {
    self.record = record
    self.reason = reason
  }

  public var description: String {
    switch record {
    case .providerKey(let name): return "provider key \(name) \(reason)"
    case .agentKey(let name): return "agent key \(name) \(reason)"
    case .setting(let name): return "setting \(name) \(reason)"
    case .passphrase: return "the passphrase \(reason)"
    case .member(let name): return "member \(name) \(reason)"
    }
  }
}

/// What a merge produced: a complete document (generation, upkeep done) and the keyring it is to
/// be written with, plus what the caller should tell the user.
public struct MergeResult: Sendable {
  public var document: VaultDocument
  public var keyring: Keyring
  /// Empty when the merge is clean. Otherwise `document` holds OURS's version of each record
  /// named here: a valid vault, which git leaves marked as conflicted.
  public var conflicts: [MergeConflict]
  /// Provider keys given a fresh data key because a token stopped (revoked, expired, retired,
  /// removed) on either side could read them there.
  public var rekeyed: [String]
  /// Agent keys revoked by the merge: issued under a master key that a member removed on the
  /// other side holds (their slot keys cannot be changed without their tokens).
  public var revokedAgents: [String] = []
}

/// The record-level three-way merge behind `vault merge-driver` (README, "Sharing with a team").
///
/// Records are matched by id (provider keys, agent keys), settings by what they hold. For each:
/// the same on both sides, kept; changed on one side only (against BASE), that side's; added on
/// one side, added; removed on one side and unchanged on the other, removed; anything else is a
/// conflict, resolved to OURS's version and reported. Agent keys combine where they can: a token
/// stopped on either side stays stopped, tokens are united by id, and grants (which every owner
/// write rewrites) are not compared but rebuilt. Whatever a token stopped on either side could
/// read there is re-keyed, so the merge never hands it a data key written on the other side.
public enum VaultMerge {
  /// Merges OURS and THEIRS, both unlocked (MAC checked), against their common version BASE.
  /// `baseKeyring` is nil when BASE could not be unlocked (it may predate the user's access):
  /// provider keys are then compared with BASE by their metadata alone (`updated` changes with
  /// every owner edit of a key).
  ///
  /// The master key: OURS's when both sides share it; the side's that re-keyed (removed a
  /// member) when only one did, so a member removed there opens nothing written on the other
  /// side; a fresh one when both re-keyed (or BASE is locked and the sides differ), wrapped for
  /// every merged member and, with `passphrase`, for the passphrase slot.
  public static func merge(
    base: VaultDocument, baseKeyring: Keyring?, ours: UnlockedVault, theirs: UnlockedVault, now: Timestamp,
    passphrase: @escaping () throws -> SecretBytes = { throw VaultError.noPassphraseSlot }
  ) throws -> MergeResult {
    let id = ours.document.header.id
    guard base.header.id == id, theirs.document.header.id == id, ours.keyring.vaultID == id,
      theirs.keyring.vaultID == id, baseKeyring.map({ $0.vaultID == id }) ?? true
    else {
      throw VaultError.mergeRefused("the three versions are not the same vault (their vault ids differ)")
    }
    var merger = try Merger(
      base: base, baseKeyring: baseKeyring, ours: ours, theirs: theirs, now: now, passphrase: passphrase)
    return try merger.run()
  }

  /// `key` carried over from a version whose keyring is `source` into a document written with
  /// `target`: when the two master keys differ, its value is opened with `source` and sealed under
  /// `target` with a fresh data key (metadata, `updated` included, unchanged). With one master key
  /// on every side, the case in format version 2, which has no way to change it, the key is
  /// returned as it is; member removal (format version 3) draws a new master key and makes this
  /// real work.
  public static func reseal(_ key: ProviderKey, from source: Keyring, to target: Keyring) throws -> ProviderKey {
    guard !target.hasSameMasterKey(as: source) else { return key }
    return try target.resealed(key, from: source)
  }
}

/// Which version a merged record was taken from.
enum MergeSide {
  case ours
  case theirs
}

/// The outcome of comparing one record's three versions.
enum MergePick {
  case ours
  case theirs
  case conflict

  /// The usual three-way rule: equal sides agree; a side equal to BASE did not change, so the
  /// other side's version wins; otherwise both changed. `nil` is a record absent from a version.
  static func of<Value>(base: Value?, ours: Value?, theirs: Value?, same: (Value?, Value?) -> Bool) -> MergePick {
    if same(ours, theirs) { return .ours }
    if same(base, ours) { return .theirs }
    if same(base, theirs) { return .ours }
    return .conflict
  }

  static func of<Value: Equatable>(base: Value?, ours: Value?, theirs: Value?) -> MergePick {
    of(base: base, ours: ours, theirs: theirs, same: { $0 == $1 })
  }
}

/// One merge in progress. Steps in the order `run` takes them; each reads the versions and adds
/// to the merged document and the conflicts.
private struct Merger {
  let base: VaultDocument
  let baseKeyring: Keyring?
  let ours: UnlockedVault
  let theirs: UnlockedVault
  let now: Timestamp
  /// Values are compared through HMACs under this key, drawn for this merge alone: nothing
  /// derived from a value outlives the process or means anything outside it.
  let fingerprintKey: SecretBytes
  var conflicts: [MergeConflict] = []
  /// The keyring the merged file is written with (see `chooseMasterKey`).
  var keyring: Keyring
  /// Agent keys revoked because their tokens' slot keys were sealed under another master key.
  var revokedAgents: [String] = []
  /// Asked only when a fresh master key must be wrapped for the passphrase slot.
  let passphrase: () throws -> SecretBytes

  init(
    base: VaultDocument, baseKeyring: Keyring?, ours: UnlockedVault, theirs: UnlockedVault, now: Timestamp,
    passphrase: @escaping () throws -> SecretBytes
  ) throws {
    self.base = base
    self.baseKeyring = baseKeyring
    self.ours = ours
    self.theirs = theirs
    self.now = now
    self.passphrase = passphrase
    self.fingerprintKey = try SecureRandom.secret(count: 32)
    self.keyring = ours.keyring
  }

  func keyring(of side: MergeSide) -> Keyring { side == .ours ? ours.keyring : theirs.keyring }

  mutating func conflict(_ record: MergeConflict.Record, _ reason: String) {
    conflicts.append(MergeConflict(record, reason))
  }

  mutating func run() throws -> MergeResult {
    var document = ours.document
    let fresh = try chooseMasterKey()
    document.header = try mergeHeader(freshMasterKey: fresh)
    // Members before the keys: every record carried over from a version under another master
    // key goes through `reseal` below, and a removed member's slot never comes back.
    document.members = try mergeMembers()
    document.keys = try mergeKeys()
    try mergeDefaults(&document)
    document.agents = try mergeAgents()
    let rekeyed = try rekeyStoppedReads(&document)
    // Grants are not merged: drop them all and let the owner's usual upkeep grant every live
    // token its scope again under the merged data keys and policy (limits, endpoints).
    for agentIndex in document.agents.indices {
      for position in document.agents[agentIndex].credentials.indices {
        document.agents[agentIndex].credentials[position].grants = []
      }
    }
    try document.maintainAgents(keyring: keyring, now: now)
    document.header.generation = max(ours.document.header.generation, theirs.document.header.generation) + 1
    return MergeResult(
      document: document, keyring: keyring, conflicts: conflicts, rekeyed: rekeyed, revokedAgents: revokedAgents)
  }

  // MARK: The master key and the header

  /// Decides `keyring`: OURS's when both sides share a master key; when they differ, the side
  /// that re-keyed since BASE (the other still has BASE's), or a fresh key when both did or
  /// BASE is locked. True when the key is fresh.
  mutating func chooseMasterKey() throws -> Bool {
    if ours.keyring.hasSameMasterKey(as: theirs.keyring) {
      keyring = ours.keyring
      return false
    }
    if let baseKeyring, ours.keyring.hasSameMasterKey(as: baseKeyring) {
      keyring = theirs.keyring
      return false
    }
    if let baseKeyring, theirs.keyring.hasSameMasterKey(as: baseKeyring) {
      keyring = ours.keyring
      return false
    }
    keyring = try ours.keyring.withFreshMasterKey()
    return true
  }

  func side(of slot: PassphraseSlot?, in header: VaultHeader) -> Bool { header.passphraseSlot == slot }

  mutating func mergeHeader(freshMasterKey: Bool) throws -> VaultHeader {
    var header = ours.document.header
    let (b, o, t) = (base.header, ours.document.header, theirs.document.header)
    var slotSide = MergeSide.ours
    switch MergePick.of(base: b.passphraseSlot, ours: o.passphraseSlot, theirs: t.passphraseSlot) {
    case .ours: break
    case .theirs:
      header.passphraseSlot = t.passphraseSlot
      slotSide = .theirs
    case .conflict: conflict(.passphrase, "was changed on both sides")
    }
    if freshMasterKey {
      if let slot = header.passphraseSlot {
        // The passphrase must open the slot it re-wraps: a mistyped one would lock it out.
        let secret = try passphrase()
        let side = slotSide == .ours ? o : t
        _ = try Keyring.unlock(header: side, kek: try Keyring.deriveKEK(passphrase: secret, kdf: slot.kdf))
        header = try keyring.rewrap(header, passphrase: secret, logN: slot.kdf.parameters.n.trailingZeroBitCount)
      }
    } else if header.passphraseSlot != nil, !keyring.hasSameMasterKey(as: keyring(of: slotSide)) {
      // The passphrase changed on one side while the other re-keyed: the new slot wraps a
      // master key the merge does not use. Keep the re-keyed side's slot (its old passphrase).
      let other: MergeSide = slotSide == .ours ? .theirs : .ours
      header.passphraseSlot = (other == .ours ? o : t).passphraseSlot
      conflict(.passphrase, "was changed on one side while the other removed a member; run 'vault passwd' again")
    }
    switch MergePick.of(
      base: b.settings.agentKeyLimit, ours: o.settings.agentKeyLimit, theirs: t.settings.agentKeyLimit)
    {
    case .ours: break
    case .theirs: header.settings.agentKeyLimit = t.settings.agentKeyLimit
    case .conflict: conflict(.setting("agent-keys.limit"), "was changed on both sides")
    }
    let providers = Set((b.settings.endpoints + o.settings.endpoints + t.settings.endpoints).map(\.provider))
    var endpoints: [ProviderEndpoint] = []
    for provider in providers.sorted() {
      let (baseURL, oursURL, theirsURL) = (
        b.settings.endpoint(for: provider), o.settings.endpoint(for: provider), t.settings.endpoint(for: provider)
      )
      var url = oursURL
      switch MergePick.of(base: baseURL, ours: oursURL, theirs: theirsURL) {
      case .ours: break
      case .theirs: url = theirsURL
      case .conflict: conflict(.setting("provider.\(provider).base-url"), "was changed on both sides")
      }
      if let url { endpoints.append(ProviderEndpoint(provider: provider, baseURL: url)) }
    }
    header.settings.endpoints = endpoints
    return header
  }

  // MARK: Members

  /// What a member is, without their slot (which changes with the master key).
  struct MemberContent: Equatable {
    var role: MemberRole
    var recipient: String
    var addedBy: String
    var added: Timestamp

    init?(_ member: Member?) {
      guard let member else { return nil }
      (role, recipient, addedBy, added) = (member.role, member.recipient, member.addedBy, member.added)
    }
  }

  /// Members by name, OURS's order then THEIRS's new ones. A removal on either side stands,
  /// also against a change on the other (reported); every merged member's slot wraps the merged
  /// master key.
  mutating func mergeMembers() throws -> [Member] {
    let find = { (members: [Member], name: String) in members.first { $0.name == name } }
    let names =
      ours.document.members.map(\.name)
      + theirs.document.members.map(\.name).filter { find(ours.document.members, $0) == nil }
    var merged: [Member] = []
    for name in names {
      let (b, o, t) = (find(base.members, name), find(ours.document.members, name), find(theirs.document.members, name))
      var picked: (Member, MergeSide)?
      switch MergePick.of(base: MemberContent(b), ours: MemberContent(o), theirs: MemberContent(t)) {
      case .ours: picked = o.map { ($0, .ours) }
      case .theirs: picked = t.map { ($0, .theirs) }
      case .conflict:
        if o == nil || t == nil {
          conflict(.member(name), "was removed on one side and changed on the other; the removal stands")
        } else {
          conflict(.member(name), b == nil ? "was added on both sides" : "was changed on both sides")
          picked = o.map { ($0, .ours) }
        }
      }
      guard let (taken, side) = picked else { continue }
      var member = taken
      if !keyring.hasSameMasterKey(as: keyring(of: side)) {
        member.slot = try keyring.memberSlot(name: member.name, recipient: try AgeRecipient(parsing: member.recipient))
      }
      merged.append(member)
    }
    return merged
  }

  // MARK: Provider keys

  /// What a provider key means, without its ciphertexts (re-keying changes those and nothing
  /// else): its metadata and an HMAC of its value, or no HMAC when its version is locked.
  struct KeyContent {
    var key: ProviderKey
    var fingerprint: [UInt8]?

    static func same(_ left: KeyContent?, _ right: KeyContent?) -> Bool {
      guard let left, let right else { return left == nil && right == nil }
      let (a, b) = (left.key, right.key)
      guard
        a.id == b.id && a.name == b.name && a.provider == b.provider && a.models == b.models
          && a.environmentNames == b.environmentNames && a.masked == b.masked && a.created == b.created
          && a.updated == b.updated
      else { return false }
      guard let one = left.fingerprint, let two = right.fingerprint else { return true }
      return constantTimeEquals(one, two)
    }
  }

  func content(_ key: ProviderKey?, _ keyring: Keyring?) throws -> KeyContent? {
    guard let key else { return nil }
    let fingerprint = try keyring.map { keyring in
      try keyring.open(key).withUnsafeBytes { HMACSHA256.authenticationCode(key: fingerprintKey, message: $0) }
    }
    return KeyContent(key: key, fingerprint: fingerprint)
  }

  /// Keys in OURS's order, then THEIRS's new keys in THEIRS's order.
  mutating func mergeKeys() throws -> [ProviderKey] {
    let baseKeys = Dictionary(base.keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let oursKeys = Dictionary(ours.document.keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let theirsKeys = Dictionary(theirs.document.keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let ids = ours.document.keys.map(\.id) + theirs.document.keys.map(\.id).filter { oursKeys[$0] == nil }
    var merged: [(key: ProviderKey, side: MergeSide)] = []
    for id in ids {
      let (b, o, t) = (baseKeys[id], oursKeys[id], theirsKeys[id])
      let pick = MergePick.of(
        base: try content(b, baseKeyring), ours: try content(o, ours.keyring), theirs: try content(t, theirs.keyring),
        same: KeyContent.same)
      switch pick {
      case .ours: if let o { merged.append((o, .ours)) }
      case .theirs: if let t { merged.append((t, .theirs)) }
      case .conflict:
        let name = (o ?? t ?? b)!.name
        if o != nil, t != nil {
          conflict(.providerKey(name), b == nil ? "was added on both sides" : "was changed on both sides")
        } else {
          conflict(.providerKey(name), "was removed on one side and changed on the other")
        }
        if let o { merged.append((o, .ours)) }
      }
    }
    // Names are unique in a file: a name both sides gave to different keys keeps OURS's.
    while let clash = Self.firstRepeatedName(merged.map(\.key.name)) {
      guard let index = merged.firstIndex(where: { $0.key.name == clash && $0.side == .theirs }) else { break }
      conflict(.providerKey(clash), "was added or renamed on both sides")
      if let own = oursKeys[merged[index].key.id] {
        merged[index] = (own, .ours)
      } else {
        merged.remove(at: index)
      }
    }
    return try merged.map { try VaultMerge.reseal($0.key, from: keyring(of: $0.side), to: keyring) }
  }

  // MARK: Default keys

  /// A provider's default key is only the order of `keys` (docs/FORMAT.md, "Default keys"), and
  /// `mergeKeys` keeps OURS's order: without this step a default THEIRS chose since BASE
  /// (`vault edit NAME --default`) would be lost without a word, and a key THEIRS moved to the
  /// end so that it would not take over (a new provider, its last `--env` name gone) would take
  /// over. Per provider, each side's choice (`chosenDefaults`) is made the merged default; two
  /// different choices keep OURS's, and a choice the merge cannot keep (the key removed, moved
  /// to another provider or given variables of its own on the other side) is a conflict.
  mutating func mergeDefaults(_ document: inout VaultDocument) throws {
    let basePositions = Dictionary(base.keys.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    let oursChoices = Self.chosenDefaults(in: ours.document.keys, basePositions: basePositions)
    let theirsChoices = Self.chosenDefaults(in: theirs.document.keys, basePositions: basePositions)
    for provider in Set(oursChoices.keys).union(theirsChoices.keys).sorted() {
      // OURS's first: of two choices the merge can keep, OURS's stays.
      var kept: [ProviderKey] = []
      for (choice, keys) in [
        (oursChoices[provider], ours.document.keys), (theirsChoices[provider], theirs.document.keys),
      ] {
        guard let choice, !kept.contains(where: { $0.id == choice }) else { continue }
        guard let key = document.keys.first(where: { $0.id == choice }) else {
          let name = keys.first { $0.id == choice }?.name ?? "\(choice)"
          conflict(.providerKey(name), "was made \(provider)'s default on one side and removed on the other")
          continue
        }
        if key.provider != provider {
          conflict(
            .providerKey(key.name),
            "was made \(provider)'s default on one side and moved to another provider on the other")
        } else if !key.environmentNames.isEmpty {
          conflict(
            .providerKey(key.name),
            "was made \(provider)'s default on one side and given variables of its own on the other")
        } else {
          kept.append(key)
        }
      }
      guard let winner = kept.first else { continue }
      if let other = kept.dropFirst().first {
        conflict(
          .providerKey(other.name),
          "was made \(provider)'s default on one side and \(winner.name) on the other (\(winner.name) stays)")
      }
      // Moved where the merged default is, as `vault edit --default` moves it.
      try document.makeDefault(winner.name)
    }
  }

  /// Per provider, the default `keys` has where it differs from the default of their natural
  /// order: the same keys in BASE's order, keys BASE did not have after those in their own
  /// order. Only `vault edit --default` puts a key ahead of one it followed (an add appends, a
  /// removal leaves the order; a key that starts to go in under a provider's variables moves to
  /// the end), so such a default was chosen, or kept from a key that would have taken over; one
  /// that moved because BASE's went is no choice, and follows from the merged keys.
  static func chosenDefaults(in keys: [ProviderKey], basePositions: [RecordID: Int]) -> [String: RecordID] {
    let natural = keys.enumerated().sorted { one, two in
      (basePositions[one.element.id] ?? Int.max, one.offset) < (basePositions[two.element.id] ?? Int.max, two.offset)
    }.map(\.element)
    let naturalDefaults = KeySelection.defaults(in: natural)
    return KeySelection.defaults(in: keys).filter { naturalDefaults[$0.key] != $0.value }
  }

  static func firstRepeatedName(_ names: [String]) -> String? {
    var seen = Set<String>()
    return names.first { !seen.insert($0).inserted }
  }

  // MARK: Agent keys

  /// Whether `agent` is what it was in BASE, counting what an owner changes (name, limits, new
  /// tokens) and not what only stops it (revocation, purges, tokens retired): an agent removed on
  /// one side and only stopped on the other is removed.
  static func unchanged(_ agent: AgentKey, since base: AgentKey) -> Bool {
    agent.name == base.name && agent.limits == base.limits
      && Set(agent.credentials.map(\.id)).isSubset(of: Set(base.credentials.map(\.id)))
  }

  mutating func mergeAgents() throws -> [AgentKey] {
    let baseAgents = Dictionary(base.agents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let oursAgents = Dictionary(ours.document.agents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let theirsAgents = Dictionary(
      theirs.document.agents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let ids =
      ours.document.agents.map(\.id) + theirs.document.agents.map(\.id).filter { oursAgents[$0] == nil }
    // `nameSide`: where the merged record's name came from, for the clash rule below.
    var merged: [(agent: AgentKey, nameSide: MergeSide)] = []
    for id in ids {
      let (b, o, t) = (baseAgents[id], oursAgents[id], theirsAgents[id])
      switch (o, t) {
      case (let o?, let t?):
        merged.append(try combine(base: b, ours: o, theirs: t))
      case (let o?, nil):
        if let b, Self.unchanged(o, since: b) { continue }  // removed by THEIRS
        if b != nil { conflict(.agentKey(o.name), "was removed on one side and changed on the other") }
        merged.append((try carried(o, from: .ours), .ours))
      case (nil, let t?):
        guard let b else {
          merged.append((try carried(t, from: .theirs), .theirs))  // added by THEIRS
          continue
        }
        if !Self.unchanged(t, since: b) {
          conflict(.agentKey(t.name), "was removed on one side and changed on the other")
        }
      case (nil, nil): continue
      }
    }
    while let clash = Self.firstRepeatedName(merged.map(\.agent.name)) {
      guard let index = merged.firstIndex(where: { $0.agent.name == clash && $0.nameSide == .theirs }) else { break }
      conflict(.agentKey(clash), "was added or renamed on both sides")
      if let own = oursAgents[merged[index].agent.id] {
        merged[index].agent.name = own.name
        merged[index].nameSide = .ours
      } else {
        merged.remove(at: index)
      }
    }
    return merged.map(\.agent)
  }

  /// An agent key present on one side only, its tokens' owner copies of their slot keys sealed
  /// under the merged master key. Grants are dropped later, like every other.
  mutating func carried(_ agent: AgentKey, from side: MergeSide) throws -> AgentKey {
    var agent = agent
    agent.credentials = try agent.credentials.map { try carried($0, of: &agent, from: side) }
    return agent
  }

  /// One token carried into the merged document. Under the same master key its owner copy is
  /// kept. Under another one (a member was removed on the other side, or on both), the slot key
  /// was sealed under a master key a removed member holds, and no owner can change a slot key
  /// without its token: the agent key is revoked, its slot purged (so the upkeep re-keys what
  /// it read), and reported.
  mutating func carried(_ credential: AgentCredential, of agent: inout AgentKey, from side: MergeSide) throws
    -> AgentCredential
  {
    let source = keyring(of: side)
    guard credential.isLive, !keyring.hasSameMasterKey(as: source) else { return credential }
    if agent.revoked == nil {
      agent.revoked = now
      if !revokedAgents.contains(agent.name) { revokedAgents.append(agent.name) }
    }
    return Self.purged(credential)
  }

  /// One agent key present on both sides. Name and limits merge three-way; `revoked` is the
  /// earlier of the two; tokens are united by id, less any a side removed since BASE, each token
  /// as stopped as its more stopped version (the earlier `retireAt`, purged if purged on either
  /// side). Rotated on both sides is a conflict: OURS's tokens are kept and THEIRS's new one is
  /// dropped (so re-keyed from, like any stopped token).
  mutating func combine(base: AgentKey?, ours o: AgentKey, theirs t: AgentKey) throws -> (AgentKey, MergeSide) {
    var agent = o
    var nameSide = MergeSide.ours
    switch MergePick.of(base: base?.name, ours: o.name, theirs: t.name) {
    case .ours: break
    case .theirs:
      agent.name = t.name
      nameSide = .theirs
    case .conflict: conflict(.agentKey(o.name), "was renamed differently on both sides")
    }
    switch MergePick.of(base: base?.limits, ours: o.limits, theirs: t.limits) {
    case .ours: break
    case .theirs: agent.limits = t.limits
    case .conflict: conflict(.agentKey(agent.name), "had its limits changed differently on both sides")
    }
    agent.revoked = [o.revoked, t.revoked].compactMap { $0 }.min()

    let baseTokens = Set(base?.credentials.map(\.id) ?? [])
    let oursTokens = o.credentials.map(\.id)
    let theirsTokens = t.credentials.map(\.id)
    let gone = baseTokens.filter { !oursTokens.contains($0) || !theirsTokens.contains($0) }
    let oursRotated = oursTokens.first.map { !baseTokens.contains($0) } ?? false
    let theirsRotated = theirsTokens.first.map { !baseTokens.contains($0) } ?? false
    var order: [String]
    if oursRotated, theirsRotated, oursTokens.first != theirsTokens.first {
      conflict(.agentKey(agent.name), "was rotated on both sides")
      order = oursTokens
    } else if theirsRotated, !oursRotated {
      order = theirsTokens + oursTokens.filter { !theirsTokens.contains($0) }
    } else {
      order = oursTokens + theirsTokens.filter { !oursTokens.contains($0) }
    }
    order = Array(order.filter { !gone.contains($0) }.prefix(2))
    var credentials: [AgentCredential] = []
    for tokenID in order {
      let versions = [(o, MergeSide.ours), (t, MergeSide.theirs)].compactMap { agent, side in
        agent.credentials.first { $0.id == tokenID }.map { ($0, side) }
      }
      var (credential, side) = versions[0]
      credential.retireAt = versions.compactMap(\.0.retireAt).min()
      if versions.contains(where: { !$0.0.isLive }) { credential = Self.purged(credential) }
      credentials.append(try carried(credential, of: &agent, from: side))
    }
    // Every token gone on one side or the other: keep OURS's first, purged, so the record (which
    // needs a token) shows as stopped until 'vault agent-key rm'.
    agent.credentials = credentials.isEmpty ? [Self.purged(o.credentials[0])] : credentials
    return (agent, nameSide)
  }

  static func purged(_ credential: AgentCredential) -> AgentCredential {
    var purged = credential
    purged.slot = nil
    purged.sealedSlotKeyForOwner = nil
    purged.grants = []
    return purged
  }

  // MARK: Re-keying

  /// Re-keys every merged provider key that a token not live in the merged document (revoked,
  /// expired, retired, rotated out or removed, on either side) held a grant for in either
  /// version: the data key it may have unwrapped there must open nothing written from now on.
  /// This is the owner's purge (docs/FORMAT.md, "What the owner's writes do") over both sides'
  /// grants at once, which `maintainAgents` alone cannot see: a token purged on one side has
  /// no grants left in the merged record.
  mutating func rekeyStoppedReads(_ document: inout VaultDocument) throws -> [String] {
    var live = Set<String>()
    for agent in document.agents where agent.revoked == nil {
      for credential in agent.credentials where credential.isLive && now < credential.effectiveExpiry {
        live.insert(credential.id)
      }
    }
    var exposed = Set<RecordID>()
    for version in [ours.document, theirs.document] {
      for agent in version.agents {
        for credential in agent.credentials where !live.contains(credential.id) {
          exposed.formUnion(credential.grants.map(\.key))
        }
      }
    }
    var names: [String] = []
    for index in document.keys.indices where exposed.contains(document.keys[index].id) {
      document.keys[index] = try keyring.rekeyed(document.keys[index])
      names.append(document.keys[index].name)
    }
    return names
  }
}
