import Synchronization
import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// An agent key opened by its token: its own slot and grants, as `vault run` opens them. Holds
/// no master key. The values it opened stay in locked memory until the vault file changes.
final class OpenedAgent: Sendable {
  let session: AgentSession
  /// The provider keys this token can read, in file order.
  let readableKeys: [ProviderKey]
  private let values = Mutex<[RecordID: SecretBytes]>([:])

  init(session: AgentSession) throws {
    self.session = session
    readableKeys = try session.grantedKeys()
  }

  var agent: AgentKey { session.agent }
  var expires: Timestamp { session.keyring.credential.effectiveExpiry }

  /// Every provider key's metadata, so a model linked outside the scope is told apart from one
  /// that does not exist (parsed on first need, then kept with this opened agent).
  func allKeys() throws -> [ProviderKey] {
    if let known = everyKey.withLock({ $0 }) { return known }
    let keys = try session.allKeyNames()
    everyKey.withLock { $0 = keys }
    return keys
  }
  private let everyKey = Mutex<[ProviderKey]?>(nil)

  /// The value of a readable key, opened once.
  func value(of key: ProviderKey) throws -> SecretBytes {
    if let cached = values.withLock({ $0[key.id] }) { return cached }
    let opened = try session.keyring.open(key)
    values.withLock { $0[key.id] = opened }
    return opened
  }

  /// The owner's base URL for `provider`, as the grants bind it.
  func endpoint(for provider: String?) -> String? { session.keyring.endpoint(for: provider) }

  /// The values opened so far, for masking an upstream's echo of them.
  func openedValues() -> [SecretBytes] { values.withLock { Array($0.values) } }
}

/// Turns a presented token into an opened agent. Opened agents are cached by the SHA-256 of the
/// token text, and the whole cache is dropped the moment the vault file changes (its inode,
/// size or times), so a revocation, a limit change or a new key takes effect on the next
/// request, with no restart.
final class AgentAuthenticator: Sendable {
  private struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var modifiedNanoseconds: Int
    var changed: Int64
    var changedNanoseconds: Int
  }

  private struct Cache {
    var identity: FileIdentity?
    var agents: [[UInt8]: OpenedAgent] = [:]
  }

  let vaultPath: String
  private let store: VaultStore
  private let cache = Mutex(Cache())
  let sessions = SessionTable()

  init(vaultPath: String) {
    self.vaultPath = vaultPath
    self.store = VaultStore(path: vaultPath)
  }

  /// The agent a request's credential stands for: an agent key (`vk_`) or a session token
  /// (`vs_`) of `vault run --gateway`. Every refusal is 401 with its reason.
  func authenticate(_ credential: [UInt8], now: Timestamp) throws(GatewayError) -> OpenedAgent {
    let identity = Self.identity(of: vaultPath)
    let agentTokenText: [UInt8]
    if credential.starts(with: AgentToken.sessionPrefix.utf8) {
      guard let session = sessions.lookup(credential) else {
        throw .unauthorized("access not permitted: the session token is unknown or its session has ended")
      }
      agentTokenText = session.agentToken.copyBytes()
    } else {
      agentTokenText = credential
    }
    let cacheKey = SHA256.hash(agentTokenText)
    let cached: OpenedAgent? = cache.withLock { cache in
      if cache.identity != identity {
        cache.identity = identity
        cache.agents = [:]
      }
      return cache.agents[cacheKey]
    }
    if let cached {
      guard now < cached.expires else {
        throw .unauthorized(
          "access not permitted: agent key \(cached.agent.name) expired on \(cached.expires.rfc3339)")
      }
      return cached
    }
    let opened: OpenedAgent
    do {
      let token = try AgentToken.parse(agentTokenText)
      opened = try OpenedAgent(session: store.openAgent(token: token, now: now))
    } catch let error as AgentAccessError {
      throw GatewayError(VaultError.accessNotPermitted(error))
    } catch let error as VaultError {
      throw GatewayError(error)
    } catch {
      throw GatewayError(kind: .internalError, message: "the vault cannot be read")
    }
    cache.withLock { cache in
      // Only cache what was read from the file the identity names: a change during the read
      // shows as a new identity on the next request, which drops this entry again.
      if cache.identity == identity { cache.agents[cacheKey] = opened }
    }
    return opened
  }

  private static func identity(of path: String) -> FileIdentity? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return FileIdentity(
      device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
      modified: Int64(status.st_mtim.tv_sec), modifiedNanoseconds: status.st_mtim.tv_nsec,
      changed: Int64(status.st_ctim.tv_sec), changedNanoseconds: status.st_ctim.tv_nsec)
  }
}
