#if canImport(Glibc)
    import Glibc
#endif

/// User and group names from the passwd and group databases (NSS: /etc/passwd, /etc/group, or
/// whatever nsswitch.conf names), for `callers:` and `listen.socket_group`. A number is taken as
/// the id itself.
public enum AccountDatabase {
    /// The uid of `user`, or nil when the database has no such user.
    public static func userID(_ user: String) -> UInt32? {
        if let number = UInt32(user) { return number }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.pw_uid
    }

    /// The gid of `group`, or nil when the database has no such group.
    public static func groupID(_ group: String) -> UInt32? {
        if let number = UInt32(group) { return number }
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(group, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
