import VaultCore

/// libFuzzer entry: the vault-file reader (layout, checksum, every record's JSON and rules).
/// Any input must be accepted or refused with a VaultError, never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVaultFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  _ = try? VaultCodec.decode(bytes)
  _ = try? JSONParser.parse(bytes)
  return 0
}
