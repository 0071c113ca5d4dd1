#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct FileWriteError: Error {}

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "wb") else { throw FileWriteError() }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw FileWriteError() }
}

func removeFile(_ path: String) {
    unlink(path)
}
