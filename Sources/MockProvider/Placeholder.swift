// Placeholder until the target gets its first type.
enum MockProviderPlaceholder {}
