// Replaced by the gateway (see shared/DESIGN.md, "The gateway").
enum VaultGatewayPlaceholder {}
