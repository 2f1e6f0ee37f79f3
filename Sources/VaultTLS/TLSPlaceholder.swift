// Replaced by the TLS client connection (see shared/DESIGN.md, "The gateway").
enum VaultTLSPlaceholder {}
