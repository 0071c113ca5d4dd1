import CLMDB

/// A failure of the shared state. Callers decide per facility whether it fails open (cache) or
/// closed (limits, as configured).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case mapFull
        case readersFull
        case io
        /// Another live opener of the environment has this process's PID (another PID
        /// namespace): continue in a fresh PID (`PIDSupervisor`).
        case pidInUse
        /// The state did not answer within `state.lock_timeout` (a peer holds the writer lock
        /// and is stopped or hung, or this process's queue is saturated).
        case timeout
        case other(Int32)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    init(lmdb status: Int32, _ operation: String) {
        switch status {
        case MDB_MAP_FULL: code = .mapFull
        case MDB_READERS_FULL: code = .readersFull
        default: code = .other(status)
        }
        message = "\(operation): \(String(cString: mdb_strerror(status)))"
    }

    public var description: String { message }
}
