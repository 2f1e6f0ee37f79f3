import VaultCore

/// libFuzzer entry: the `.env` importer. Every accepted entry has a valid name and a line number
/// inside the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDotEnv(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let entries = try? DotEnvParser.parse(bytes) {
    let lines = bytes.filter { $0 == 0x0A }.count + 1
    for entry in entries {
      precondition(Names.isIdentifier(entry.name), "an accepted name is not an identifier")
      precondition(entry.line >= 1 && entry.line <= lines, "a line number outside the input")
    }
  }
  return 0
}
