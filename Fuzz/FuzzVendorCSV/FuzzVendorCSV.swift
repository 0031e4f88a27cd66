import MarketData

/// libFuzzer entry: any body is parsed into bars or rejected with a reason, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVendorCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let bars = try? VendorCSV.parse(bytes, symbol: "MGC", source: "fuzz", start: 0, end: .max, expectedLength: nil) {
        for bar in bars { precondition(bar.high >= bar.low) }
    }
    return 0
}
