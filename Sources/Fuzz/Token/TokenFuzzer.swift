import VaultCore

/// libFuzzer entry: the agent token codec. A parse that succeeds must round-trip to the same
/// token text and display form.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToken(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let token = try? AgentToken.parse(bytes) {
    precondition(token.text.count == AgentToken.length, "a parsed token has the wrong length")
    precondition((try? AgentToken.parse(token.text.copyBytes()))?.id == token.id, "a parsed token does not re-parse")
  }
  return 0
}
