import Foundation

#if canImport(Glibc)
  import Glibc
#endif

let code = VaultCLI.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
exit(code.rawValue)
