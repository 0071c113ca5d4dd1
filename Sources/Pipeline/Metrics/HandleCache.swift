import Synchronization

/// Metric handles by their label values, made once per label set: the registry's own lookup
/// builds label arrays and copies its tables on every new series, so the hot path asks here first
/// and pays one hash of a few strings under a lock.
final class HandleCache<Key: Hashable & Sendable, Handle: Sendable>: Sendable {
    private let handles = Mutex<[Key: Handle]>([:])

    /// The handle for `key`, made by `make` the first time (under the lock, so it is made once).
    func handle(_ key: Key, make: (Key) -> Handle) -> Handle {
        handles.withLock { handles in
            if let handle = handles[key] { return handle }
            let handle = make(key)
            handles[key] = handle
            return handle
        }
    }
}
