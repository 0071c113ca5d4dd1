import Testing

@Test func placeholderUpstreamTests() {}
