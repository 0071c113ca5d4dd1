import CLMDB

/// One LMDB transaction, valid only inside the closure it was given to.
public struct LMDBTransaction {
    let pointer: OpaquePointer
    public let writable: Bool

    /// The value stored under `key`, copied out of the map, or nil.
    public func get(_ database: LMDBDatabase, _ key: [UInt8]) throws(StoreError) -> [UInt8]? {
        var result: [UInt8]?
        var code: Int32 = 0
        key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(
                mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var data = MDB_val()
            code = mdb_get(pointer, database.handle, &keyValue, &data)
            if code == MDB_SUCCESS {
                result = Array(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
            }
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "mdb_get \(database.name)")
        return result
    }

    public func put(_ database: LMDBDatabase, _ key: [UInt8], _ value: [UInt8]) throws(StoreError) {
        precondition(writable, "put in a read transaction")
        var code: Int32 = 0
        key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(
                    mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var data = MDB_val(
                    mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                code = mdb_put(pointer, database.handle, &keyValue, &data, 0)
            }
        }
        try check(code, "mdb_put \(database.name)")
    }

    /// Removes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ database: LMDBDatabase, _ key: [UInt8]) throws(StoreError) -> Bool {
        precondition(writable, "delete in a read transaction")
        var code: Int32 = 0
        key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(
                mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            code = mdb_del(pointer, database.handle, &keyValue, nil)
        }
        if code == MDB_NOTFOUND { return false }
        try check(code, "mdb_del \(database.name)")
        return true
    }

    /// Visits entries in key order starting at the first key ≥ `from` (all when nil) until
    /// `visit` returns false.
    public func forEach(
        _ database: LMDBDatabase,
        from start: [UInt8]? = nil,
        _ visit: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool
    ) throws {
        try forEachInPlace(database, from: start) { key, value in try visit(Array(key), Array(value)) }
    }

    /// As `forEach`, but `visit` sees the key and value in place in the map (valid only during
    /// the call): no copy per entry, for scans over many entries.
    public func forEachInPlace(
        _ database: LMDBDatabase,
        from start: [UInt8]? = nil,
        _ visit: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(pointer, database.handle, &cursor), "mdb_cursor_open \(database.name)")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var data = MDB_val()
        var code: Int32
        if let start {
            code = start.withUnsafeBytes { bytes in
                key = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE)
            }
        } else {
            code = mdb_cursor_get(cursor, &key, &data, MDB_FIRST)
        }
        while code == MDB_SUCCESS {
            let keyBytes = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            let valueBytes = UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size)
            guard try visit(keyBytes, valueBytes) else { return }
            code = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "mdb_cursor_get \(database.name)") }
    }

    /// Number of entries in `database`.
    public func count(_ database: LMDBDatabase) throws(StoreError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(pointer, database.handle, &stat), "mdb_stat \(database.name)")
        return Int(stat.ms_entries)
    }
}
