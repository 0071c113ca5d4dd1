import Testing

@Test func placeholderMockProviderTests() {}
