import VaultCommandLine

/// libFuzzer entry: the command-line parser, over every command's spec. The input is split on
/// NUL bytes into arguments; parsing must accept or refuse, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArguments(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
    String(decoding: $0, as: UTF8.self)
  }
  VaultCLI.checkArguments(arguments)
  return 0
}
