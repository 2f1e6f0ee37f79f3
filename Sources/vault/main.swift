import VaultCommandLine
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

// No Foundation here or below: loading it (and its ICU data) cost several milliseconds at every
// start, which `vault run` pays on every agent launch.

// First, before anything uses OpenSSL: it takes an allocator only before its first allocation.
OpenSSLMemory.useHugePagesForLargeBuffers()
ProcessHygiene.harden()
let code = VaultCLI.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessEnvironment.current())
exit(code)
