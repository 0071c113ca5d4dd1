import Testing

@Test func placeholderServerTests() {}
