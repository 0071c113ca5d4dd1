import Testing

@Test func placeholderDialectsTests() {}
