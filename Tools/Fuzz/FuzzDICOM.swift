// libFuzzer entry point for the DICOM codec.
//
// Built by Tools/Fuzz/run.sh together with Sources/DICOM/*.swift into one module, so
// internal API is visible without `import DICOM`. Every input must either parse or
// throw a SBRTError; anything else (a trap, an ASan report, a hang) is a bug.
//
// Besides parsing, the target exercises the accessors a caller would use on a parsed
// file, and checks one property: whatever the reader accepts, the writer can encode
// and the reader can read back.
import Base
import Foundation

private func walk(_ ds: DataSet, depth: Int) {
    if depth > 8 { return }
    for e in ds.elements {
        _ = ds.string(e.tag)
        _ = ds.strings(e.tag)
        _ = try? ds.doubles(e.tag)
        _ = try? ds.ints(e.tag)
        _ = ds.tagValue(e.tag)
        _ = ds.uint16(e.tag)
        _ = ds.uint32(e.tag)
        if let items = ds.sequence(e.tag) {
            for item in items { walk(item, depth: depth + 1) }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDICOM(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = Data(bytes: start, count: count)

    // Numbers in text must never trap, whatever the bytes.
    _ = try? DecimalString.parse(data)

    let file: DICOMFile
    do {
        file = try DICOMFile.parse(data)
    } catch is SBRTError {
        return 0
    } catch {
        fatalError("parse threw a non-SBRTError: \(error)")
    }
    walk(file.meta, depth: 0)
    walk(file.dataSet, depth: 0)
    _ = try? file.nativePixelData()
    _ = file.sopClassUID
    _ = file.modality

    // Round trip: what we read, we can write, and read back.
    var ds = file.dataSet
    if ds.string(.sopClassUID)?.isEmpty ?? true { ds.set(.sopClassUID, .UI, "1.2.3") }
    if ds.string(.sopInstanceUID)?.isEmpty ?? true { ds.set(.sopInstanceUID, .UI, "1.2.3.4") }
    guard let encoded = try? DICOMWriter.encodeFile(ds) else { return 0 }
    do {
        let again = try DICOMFile.parse(encoded)
        walk(again.dataSet, depth: 0)
    } catch {
        fatalError("writer output does not parse back: \(error)")
    }
    return 0
}
