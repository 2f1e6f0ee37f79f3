import VaultCrypto

/// The executable handles passphrases and values as `SecretBytes` without importing the crypto
/// layer itself: data flows CLI -> VaultCore -> VaultCrypto only.
public typealias SecretBytes = VaultCrypto.SecretBytes
