import VaultCrypto

/// The binary payload of an age file (age-encryption.org/v1, "Payload"): a 16-byte nonce, then
/// the plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
/// HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload"). A chunk's AEAD nonce is an
/// 11-byte big-endian counter and a flag byte, 1 on the last chunk only, so chunks cannot be
/// reordered, dropped or cut off at the end without a tag failing.
///
/// This is the in-memory form (the vault seals small values): the whole payload is framed from
/// its length before anything is decrypted.
enum AgePayload {
  static let nonceByteCount = 16
  static let chunkByteCount = 64 * 1024
  static let sealedChunkByteCount = chunkByteCount + ChaCha20Poly1305.tagByteCount

  /// `nonce || sealed chunks` of `plaintext` under `fileKey`, with a fresh random nonce.
  static func seal(_ plaintext: UnsafeRawBufferPointer, fileKey: SecretBytes) throws -> [UInt8] {
    let nonce = try SecureRandom.bytes(count: nonceByteCount)
    let key = try payloadKey(fileKey: fileKey, nonce: nonce)
    // An empty plaintext is one empty final chunk; otherwise no chunk is empty, and a plaintext
    // that fills its last chunk ends with that full chunk, flagged last.
    let chunkCount = max(1, (plaintext.count + chunkByteCount - 1) / chunkByteCount)
    var output = nonce
    output.reserveCapacity(nonceByteCount + plaintext.count + chunkCount * ChaCha20Poly1305.tagByteCount)
    for index in 0..<chunkCount {
      let start = index * chunkByteCount
      let end = min(start + chunkByteCount, plaintext.count)
      output += try ChaCha20Poly1305.seal(
        UnsafeRawBufferPointer(rebasing: plaintext[start..<end]), key: key,
        nonce: chunkNonce(index, isLast: index == chunkCount - 1))
    }
    return output
  }

  /// Opens `nonce || sealed chunks` (everything after the header) under `fileKey`. A missing or
  /// short nonce is a header failure (as in age's vectors); everything after it a payload
  /// failure: no chunk, a chunk too short for its tag, an empty last chunk after others, a tag
  /// that fails (tampering, a chunk flagged last too early or not at all, trailing data).
  static func open(_ payload: UnsafeRawBufferPointer, fileKey: SecretBytes) throws -> SecretBytes {
    guard payload.count >= nonceByteCount else { throw AgeError.headerFailure("the payload nonce is missing") }
    let nonce = Array(payload[0..<nonceByteCount])
    let sealed = UnsafeRawBufferPointer(rebasing: payload[nonceByteCount...])
    guard !sealed.isEmpty else { throw AgeError.payloadFailure("the payload has no chunk") }
    // Every chunk but the last is full; so the chunk count, and where each chunk lies, follow
    // from the length alone.
    let chunkCount = (sealed.count + sealedChunkByteCount - 1) / sealedChunkByteCount
    let lastCount = sealed.count - (chunkCount - 1) * sealedChunkByteCount
    guard lastCount >= ChaCha20Poly1305.tagByteCount else {
      throw AgeError.payloadFailure("the last chunk is shorter than its tag")
    }
    guard lastCount > ChaCha20Poly1305.tagByteCount || chunkCount == 1 else {
      throw AgeError.payloadFailure("the last chunk is empty")
    }
    let key = try payloadKey(fileKey: fileKey, nonce: nonce)
    let plaintextCount = sealed.count - chunkCount * ChaCha20Poly1305.tagByteCount
    return try SecretBytes(count: plaintextCount) { plaintext in
      for index in 0..<chunkCount {
        let start = index * sealedChunkByteCount
        let end = min(start + sealedChunkByteCount, sealed.count)
        let outputStart = index * chunkByteCount
        let output = UnsafeMutableRawBufferPointer(
          rebasing: plaintext[outputStart..<(outputStart + end - start - ChaCha20Poly1305.tagByteCount)])
        do {
          try ChaCha20Poly1305.open(
            UnsafeRawBufferPointer(rebasing: sealed[start..<end]), key: key,
            nonce: chunkNonce(index, isLast: index == chunkCount - 1), into: output)
        } catch VaultCryptoError.authenticationFailure {
          throw AgeError.payloadFailure("chunk \(index) does not authenticate")
        }
      }
    }
  }

  private static func payloadKey(fileKey: SecretBytes, nonce: [UInt8]) throws -> SecretBytes {
    try HKDF.deriveKey(
      inputKeyMaterial: fileKey, salt: nonce, info: Array("payload".utf8), length: ChaCha20Poly1305.keyByteCount)
  }

  /// The 11-byte big-endian chunk counter, then 1 for the last chunk and 0 before it.
  private static func chunkNonce(_ index: Int, isLast: Bool) -> [UInt8] {
    var nonce = [UInt8](repeating: 0, count: ChaCha20Poly1305.nonceByteCount)
    var counter = UInt64(index)
    for position in stride(from: 10, through: 3, by: -1) {
      nonce[position] = UInt8(truncatingIfNeeded: counter)
      counter >>= 8
    }
    nonce[11] = isLast ? 1 : 0
    return nonce
  }
}
