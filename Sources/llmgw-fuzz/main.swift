import CLibFuzzer

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw-fuzz TARGET [libFuzzer options] [CORPUS...]`: runs one fuzz target under libFuzzer.
/// Built only by `scripts/fuzz` (`LLMGW_FUZZ=1`, `-sanitize=fuzzer,address`).
nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let target = selected else { return 0 }
    target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

let arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTarget.named(arguments[1]) else {
    let names = FuzzTarget.all.map { "  \($0.name)  \($0.summary)" }.joined(separator: "\n")
    print("usage: llmgw-fuzz TARGET [libFuzzer options] [CORPUS...]\ntargets:\n\(names)")
    exit(2)
}
selected = target

// libFuzzer sees the program name followed by everything after the target name.
var forwarded = [arguments[0]] + arguments.dropFirst(2)
var cStrings: [UnsafeMutablePointer<CChar>?] = forwarded.map { strdup($0) } + [nil]
var argc = Int32(forwarded.count)
let status = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
}
forwarded.removeAll()
exit(status)
