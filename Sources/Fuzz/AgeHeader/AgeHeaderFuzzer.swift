import VaultCore

/// The CCTV vectors' identity (a published test key), so seeds made from those vectors reach
/// stanza unwrapping, the MAC and the payload.
private let identity = try! AgeIdentity(
  parsing: "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0")

/// libFuzzer entry: the age header parser and, behind it, decryption with one identity. A header
/// that parses must re-encode to exactly the bytes it was read from (one spelling only, which
/// the MAC check relies on) and re-parse to itself; any input must be accepted or refused with
/// an AgeError, never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgeHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let (header, payloadOffset) = try? AgeHeader.parse(bytes) {
    let encoded = header.encoded()
    precondition(encoded[...] == bytes[..<payloadOffset], "a parsed header does not re-encode to its bytes")
    precondition((try? AgeHeader.parse(encoded))?.header == header, "an encoded header does not re-parse")
  }
  do {
    _ = try AgeFile.decrypt(bytes, identities: [identity])
  } catch is AgeError {
  } catch {
    preconditionFailure("decrypt threw a non-AgeError: \(error)")
  }
  return 0
}
