import CPNGShim
import XCTest

/// The setjmp guards in `CPNGShim` turn a libpng error into a return value of 0 and a
/// message, instead of a longjmp through Swift frames or an abort. The encoder never
/// lets libpng fail; these tests make it fail on purpose.
final class PNGShimTests: XCTestCase {

    func withWriteStruct(_ body: (OpaquePointer, OpaquePointer, UnsafeMutablePointer<sbrt_png_error_sink>) -> Void) {
        let sink = UnsafeMutablePointer<sbrt_png_error_sink>.allocate(capacity: 1)
        sink.initialize(to: sbrt_png_error_sink())
        defer { sink.deallocate() }
        var png = sbrt_png_create_write_struct(sink)
        var info = png_create_info_struct(png)
        defer { png_destroy_write_struct(&png, &info) }
        guard let png, let info else { return XCTFail("libpng could not start") }
        body(png, info, sink)
    }

    func message(_ sink: UnsafeMutablePointer<sbrt_png_error_sink>) -> String {
        withUnsafeBytes(of: sink.pointee.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    func testInvalidHeaderReturnsZeroWithLibpngsMessage() {
        withWriteStruct { png, info, sink in
            XCTAssertEqual(sbrt_png_set_IHDR(png, info, 0, 5, 8, 2), 0)
            XCTAssertTrue(message(sink).contains("IHDR"), message(sink))
        }
    }

    func testWritingRowsBeforeTheHeaderReturnsZero() {
        withWriteStruct { png, _, sink in
            var row = [UInt8](repeating: 0, count: 16)
            let ok = row.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var rows: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress]
                return sbrt_png_write_rows(png, &rows, 1)
            }
            XCTAssertEqual(ok, 0)
            XCTAssertTrue(message(sink).contains("png_write_info"), message(sink))
        }
    }
}
