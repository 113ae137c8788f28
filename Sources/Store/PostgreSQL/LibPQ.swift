import CLibPQ
import Foundation

/// The functions of libpq this store calls, bound when the first PostgreSQL connection is
/// made (`dlopen` of libpq.so.5) instead of at every start. Linked, libpq made every sbrt
/// command map and relocate it and two dozen libraries it needs (TLS, Kerberos, LDAP…),
/// about 3.5 ms of CPU at each start, for the one use of `sbrt batch` with a PostgreSQL
/// URL; and without libpq installed, sbrt could not start at all. The types and constants
/// come from the header (`CLibPQ`, Debian's libpq-dev).
struct LibPQ: @unchecked Sendable {
    typealias ConnectParams = @convention(c) (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?, Int32) -> OpaquePointer?
    typealias Exec = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?,
                                     UnsafePointer<Int32>?, UnsafePointer<Int32>?, Int32) -> OpaquePointer?
    typealias Text = UnsafeMutablePointer<CChar>?

    let connectdbParams: ConnectParams
    let status: @convention(c) (OpaquePointer?) -> ConnStatusType
    let errorMessage: @convention(c) (OpaquePointer?) -> Text
    let finish: @convention(c) (OpaquePointer?) -> Void
    let setNoticeProcessor: @convention(c) (OpaquePointer?, PQnoticeProcessor?, UnsafeMutableRawPointer?) -> PQnoticeProcessor?
    let execParams: Exec
    let clear: @convention(c) (OpaquePointer?) -> Void
    let resultStatus: @convention(c) (OpaquePointer?) -> ExecStatusType
    let resultErrorMessage: @convention(c) (OpaquePointer?) -> Text
    let resultErrorField: @convention(c) (OpaquePointer?, Int32) -> Text
    let ntuples: @convention(c) (OpaquePointer?) -> Int32
    let nfields: @convention(c) (OpaquePointer?) -> Int32
    let fname: @convention(c) (OpaquePointer?, Int32) -> Text
    let ftype: @convention(c) (OpaquePointer?, Int32) -> Oid
    let getisnull: @convention(c) (OpaquePointer?, Int32, Int32) -> Int32
    let getlength: @convention(c) (OpaquePointer?, Int32, Int32) -> Int32
    let getvalue: @convention(c) (OpaquePointer?, Int32, Int32) -> Text

    /// The library, loaded once; the error says what to install when it is missing.
    static func load() throws(StoreError) -> LibPQ { try loaded.get() }

    private static let loaded: Result<LibPQ, StoreError> = {
        do { return .success(try LibPQ()) } catch let e as StoreError { return .failure(e) } catch {
            return .failure(StoreError(.connection, "cannot load libpq: \(error)"))
        }
    }()

    private init() throws(StoreError) {
        guard let library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL) ?? dlopen("libpq.so", RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "not found"
            throw StoreError(.connection, "PostgreSQL needs the client library libpq (Debian: apt-get install libpq5): \(why)")
        }
        func bind<T>(_ name: String) throws(StoreError) -> T {
            guard let symbol = dlsym(library, name) else {
                throw StoreError(.connection, "the PostgreSQL client library libpq has no \(name); it is too old")
            }
            return unsafeBitCast(symbol, to: T.self)
        }
        connectdbParams = try bind("PQconnectdbParams")
        status = try bind("PQstatus")
        errorMessage = try bind("PQerrorMessage")
        finish = try bind("PQfinish")
        setNoticeProcessor = try bind("PQsetNoticeProcessor")
        execParams = try bind("PQexecParams")
        clear = try bind("PQclear")
        resultStatus = try bind("PQresultStatus")
        resultErrorMessage = try bind("PQresultErrorMessage")
        resultErrorField = try bind("PQresultErrorField")
        ntuples = try bind("PQntuples")
        nfields = try bind("PQnfields")
        fname = try bind("PQfname")
        ftype = try bind("PQftype")
        getisnull = try bind("PQgetisnull")
        getlength = try bind("PQgetlength")
        getvalue = try bind("PQgetvalue")
    }
}
