import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// An agent key opened by its token (VaultCore's AgentAccess, as `vault run` opens it), with
/// what the gateway keeps beside it: the values it opened, in locked memory until the vault file
/// changes, and every key's metadata once parsed. Holds no master key.
final class OpenedAgent: Sendable {
  let access: AgentAccess
  private let values = Lock<[RecordID: SecretBytes]>([:])
  private let everyKey = Lock<[ProviderKey]?>(nil)

  init(access: AgentAccess) {
    self.access = access
  }

  var agent: AgentKey { access.agent }
  var expires: Timestamp { access.expires }
  var readableKeys: [ProviderKey] { access.readableKeys }

  /// Every provider key's metadata, so a model linked outside the scope is told apart from one
  /// that does not exist (parsed on first need, then kept with this opened agent).
  func allKeys() throws -> [ProviderKey] {
    if let known = everyKey.withLock({ $0 }) { return known }
    let keys = try access.session.allKeyNames()
    everyKey.withLock { $0 = keys }
    return keys
  }

  /// The value of a readable key, opened once.
  func value(of key: ProviderKey) throws -> SecretBytes {
    if let cached = values.withLock({ $0[key.id] }) { return cached }
    let opened = try access.open(key)
    values.withLock { $0[key.id] = opened }
    return opened
  }

  func endpoint(for provider: String?) -> String? { access.endpoint(for: provider) }
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
  private let cache = Lock(Cache())
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
      opened = OpenedAgent(access: try AgentAccess(store: store, token: token, now: now))
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
