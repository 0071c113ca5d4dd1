import Testing

@Test func placeholderGatewayCoreTests() {}
