import VaultCrypto

/// A large batch of keys opened on two threads: the first half here, the second on a
/// `BackgroundWork` thread. `vault run` over a thousand keys opens two thousand boxes after the
/// master key (or the slot key) is known, and nothing else is left to wait for then; with the
/// passphrase the parsing thread has finished long before scrypt, so the second core is free.
enum BatchOpening {
  /// Below this many keys a thread costs about what it saves (starting one is some 50 to 100
  /// µs; a key's two boxes are a few µs).
  static let threshold = 256

  /// `openRun` over `keys`, in order, in one run or in two halves run at once. Each half makes
  /// its own cipher contexts. A key's error is the one a single run would throw: the first
  /// half's before the second's, and each half stops at its first failing key. (Only a cipher
  /// context the second half could not allocate may give way to a bad key of the first.)
  static func open(
    _ keys: [ProviderKey], threshold: Int = threshold,
    _ openRun: @escaping @Sendable (ArraySlice<ProviderKey>) throws -> [SecretBytes]
  ) throws -> [SecretBytes] {
    guard keys.count >= max(threshold, 2) else { return try openRun(keys[...]) }
    let middle = keys.count / 2
    let secondHalf = BackgroundWork { try openRun(keys[middle...]) }
    let first = Result { try openRun(keys[..<middle]) }
    // Joined before anything is thrown, so the thread never outlives the call.
    let second = Result { try secondHalf.wait() }
    var values = try first.get()
    values += try second.get()
    return values
  }
}
