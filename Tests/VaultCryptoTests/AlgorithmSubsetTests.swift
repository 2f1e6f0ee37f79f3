import COpenSSL
import XCTest

@testable import VaultCrypto

/// `Algorithms` fetches from a library context whose one provider re-offers a few of the
/// default provider's algorithms (AlgorithmSubset). The known-answer tests (Wycheproof, RFC
/// vectors) check the results; these check that the subset is really what is used, and really
/// a subset.
final class AlgorithmSubsetTests: XCTestCase {
  func testEveryAlgorithmIsFetchedFromTheSubsetProvider() throws {
    let algorithms = Algorithms.shared
    XCTAssertNotNil(
      algorithms.context, "the subset context could not be made; fetches fell back to the default context")
    let ciphers = [
      ("AES-128-GCM", algorithms.aes128GCM), ("AES-192-GCM", algorithms.aes192GCM),
      ("AES-256-GCM", algorithms.aes256GCM), ("ChaCha20-Poly1305", algorithms.chaCha20Poly1305),
    ]
    for (name, cipher) in ciphers {
      let cipher = try XCTUnwrap(cipher, name)
      XCTAssertEqual(providerName(EVP_CIPHER_get0_provider(cipher)), "llm-vault-subset", name)
    }
    let digest = try XCTUnwrap(algorithms.sha256)
    XCTAssertEqual(providerName(EVP_MD_get0_provider(digest)), "llm-vault-subset")
    let kdf = try XCTUnwrap(algorithms.hkdf)
    XCTAssertEqual(providerName(EVP_KDF_get0_provider(kdf)), "llm-vault-subset")
  }

  func testTheSubsetContextOffersNothingElse() throws {
    let context = try XCTUnwrap(Algorithms.shared.context)
    for name in ["AES-256-CBC", "AES-256-CTR", "ChaCha20"] {
      XCTAssertNil(EVP_CIPHER_fetch(context, name, nil), name)
    }
    XCTAssertNil(EVP_MD_fetch(context, "SHA512", nil))
    XCTAssertNil(EVP_KDF_fetch(context, "PBKDF2", nil))
    ERR_clear_error()
  }

  func testTheSubsetFindsItsAlgorithmsByEveryName() throws {
    let context = try XCTUnwrap(Algorithms.shared.context)
    // The default provider lists aliases after the first name; a fetch by an alias finds the
    // same implementation.
    let byAlias = try XCTUnwrap(EVP_MD_fetch(context, "SHA-256", nil))
    defer { EVP_MD_free(byAlias) }
    XCTAssertEqual(
      String(cString: EVP_MD_get0_name(byAlias)), String(cString: EVP_MD_get0_name(Algorithms.shared.sha256)))
  }

  func testASealedBoxOpensUnderTheDefaultContextsOwnCipher() throws {
    // The same bytes come out of the default context's AES-256-GCM: the subset changes where
    // the implementation is found, not what it computes.
    let key = try SecureRandom.secret(count: 32)
    let plaintext = Array("the subset seals as the default provider does".utf8)
    let box = try AESGCM.seal(plaintext, key: key, associatedData: Array("ad".utf8))
    let nonce = Array(box.prefix(12))
    let tag = Array(box.suffix(16))
    let ciphertext = Array(box.dropFirst(12).dropLast(16))
    let defaultCipher = try XCTUnwrap(EVP_CIPHER_fetch(nil, "AES-256-GCM", nil))
    defer { EVP_CIPHER_free(defaultCipher) }
    XCTAssertEqual(providerName(EVP_CIPHER_get0_provider(defaultCipher)), "default")
    let context = try XCTUnwrap(EVP_CIPHER_CTX_new())
    defer { EVP_CIPHER_CTX_free(context) }
    var opened = [UInt8](repeating: 0, count: ciphertext.count)
    var length: Int32 = 0
    let status = key.withUnsafeBytes { keyBytes -> Int32 in
      guard
        EVP_DecryptInit_ex2(
          context, defaultCipher, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), nonce, nil) == 1,
        EVP_DecryptUpdate(context, nil, &length, Array("ad".utf8), 2) == 1,
        EVP_DecryptUpdate(context, &opened, &length, ciphertext, Int32(ciphertext.count)) == 1
      else { return 0 }
      var tagBytes = tag
      guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, &tagBytes) == 1 else { return 0 }
      var scratch = [UInt8](repeating: 0, count: 16)
      var final: Int32 = 0
      return EVP_DecryptFinal_ex(context, &scratch, &final)
    }
    XCTAssertEqual(status, 1)
    XCTAssertEqual(opened, plaintext)
  }

  private func providerName(_ provider: OpaquePointer?) -> String? {
    OSSL_PROVIDER_get0_name(provider).map { String(cString: $0) }
  }
}
