/// MD5 (RFC 1321) over 16 independent streams at once, one per lane of a 16 × 32-bit vector.
///
/// MD5 is sequential within a stream, so one stream cannot go faster than one core's scalar
/// MD5 (~0.75 GB/s here). Concurrent PUTs are independent streams: hashing sixteen of them in
/// the lanes of one vector costs about what one costs scalar. This module is compiled for
/// AVX-512 (Package.swift) and nothing in it may run unless the CPU has AVX-512 (`MD5Combiner` checks);
/// it holds no globals, so loading it executes none of its code (the lane count, 16, is
/// SigV4's `MD5Combiner.lanes` for the same reason).
public enum MD5Lanes {
    /// Runs `blocks` 64-byte blocks through every lane. `state` holds the lanes' chaining words
    /// as four rows of 16 (a, b, c, d); `inputs` the address of each lane's next block, advanced
    /// past the blocks read. Blocks are read as little-endian words, unaligned.
    @inline(never)
    public static func run(
        state: UnsafeMutablePointer<UInt32>, inputs: UnsafeMutablePointer<UnsafeRawPointer>, blocks: Int
    ) {
        typealias V = SIMD16<UInt32>
        var sa = V()
        var sb = V()
        var sc = V()
        var sd = V()
        for l in 0..<16 {
            sa[l] = state[l]
            sb[l] = state[16 + l]
            sc[l] = state[32 + l]
            sd[l] = state[48 + l]
        }
        // Every lane's 16 message words, transposed: word i of all lanes is vector i. Written and
        // read as raw bytes (never bound to a type), aligned for the vector loads.
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 16 * 64, alignment: 64)
        defer { scratch.deallocate() }
        @inline(__always) func w(_ i: Int) -> V { scratch.load(fromByteOffset: i * 64, as: V.self) }
        for _ in 0..<blocks {
            for l in 0..<16 {
                let p = inputs[l]
                for i in 0..<16 {
                    let word = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                    scratch.storeBytes(of: word, toByteOffset: (i * 16 + l) * 4, as: UInt32.self)
                }
                inputs[l] = p + 64
            }
            do {
                var a = sa
                var b = sb
                var c = sc
                var d = sd
                ff(&a, b, c, d, w(0), 0xd76a_a478, 7)
                ff(&d, a, b, c, w(1), 0xe8c7_b756, 12)
                ff(&c, d, a, b, w(2), 0x2420_70db, 17)
                ff(&b, c, d, a, w(3), 0xc1bd_ceee, 22)
                ff(&a, b, c, d, w(4), 0xf57c_0faf, 7)
                ff(&d, a, b, c, w(5), 0x4787_c62a, 12)
                ff(&c, d, a, b, w(6), 0xa830_4613, 17)
                ff(&b, c, d, a, w(7), 0xfd46_9501, 22)
                ff(&a, b, c, d, w(8), 0x6980_98d8, 7)
                ff(&d, a, b, c, w(9), 0x8b44_f7af, 12)
                ff(&c, d, a, b, w(10), 0xffff_5bb1, 17)
                ff(&b, c, d, a, w(11), 0x895c_d7be, 22)
                ff(&a, b, c, d, w(12), 0x6b90_1122, 7)
                ff(&d, a, b, c, w(13), 0xfd98_7193, 12)
                ff(&c, d, a, b, w(14), 0xa679_438e, 17)
                ff(&b, c, d, a, w(15), 0x49b4_0821, 22)
                gg(&a, b, c, d, w(1), 0xf61e_2562, 5)
                gg(&d, a, b, c, w(6), 0xc040_b340, 9)
                gg(&c, d, a, b, w(11), 0x265e_5a51, 14)
                gg(&b, c, d, a, w(0), 0xe9b6_c7aa, 20)
                gg(&a, b, c, d, w(5), 0xd62f_105d, 5)
                gg(&d, a, b, c, w(10), 0x0244_1453, 9)
                gg(&c, d, a, b, w(15), 0xd8a1_e681, 14)
                gg(&b, c, d, a, w(4), 0xe7d3_fbc8, 20)
                gg(&a, b, c, d, w(9), 0x21e1_cde6, 5)
                gg(&d, a, b, c, w(14), 0xc337_07d6, 9)
                gg(&c, d, a, b, w(3), 0xf4d5_0d87, 14)
                gg(&b, c, d, a, w(8), 0x455a_14ed, 20)
                gg(&a, b, c, d, w(13), 0xa9e3_e905, 5)
                gg(&d, a, b, c, w(2), 0xfcef_a3f8, 9)
                gg(&c, d, a, b, w(7), 0x676f_02d9, 14)
                gg(&b, c, d, a, w(12), 0x8d2a_4c8a, 20)
                hh(&a, b, c, d, w(5), 0xfffa_3942, 4)
                hh(&d, a, b, c, w(8), 0x8771_f681, 11)
                hh(&c, d, a, b, w(11), 0x6d9d_6122, 16)
                hh(&b, c, d, a, w(14), 0xfde5_380c, 23)
                hh(&a, b, c, d, w(1), 0xa4be_ea44, 4)
                hh(&d, a, b, c, w(4), 0x4bde_cfa9, 11)
                hh(&c, d, a, b, w(7), 0xf6bb_4b60, 16)
                hh(&b, c, d, a, w(10), 0xbebf_bc70, 23)
                hh(&a, b, c, d, w(13), 0x289b_7ec6, 4)
                hh(&d, a, b, c, w(0), 0xeaa1_27fa, 11)
                hh(&c, d, a, b, w(3), 0xd4ef_3085, 16)
                hh(&b, c, d, a, w(6), 0x0488_1d05, 23)
                hh(&a, b, c, d, w(9), 0xd9d4_d039, 4)
                hh(&d, a, b, c, w(12), 0xe6db_99e5, 11)
                hh(&c, d, a, b, w(15), 0x1fa2_7cf8, 16)
                hh(&b, c, d, a, w(2), 0xc4ac_5665, 23)
                ii(&a, b, c, d, w(0), 0xf429_2244, 6)
                ii(&d, a, b, c, w(7), 0x432a_ff97, 10)
                ii(&c, d, a, b, w(14), 0xab94_23a7, 15)
                ii(&b, c, d, a, w(5), 0xfc93_a039, 21)
                ii(&a, b, c, d, w(12), 0x655b_59c3, 6)
                ii(&d, a, b, c, w(3), 0x8f0c_cc92, 10)
                ii(&c, d, a, b, w(10), 0xffef_f47d, 15)
                ii(&b, c, d, a, w(1), 0x8584_5dd1, 21)
                ii(&a, b, c, d, w(8), 0x6fa8_7e4f, 6)
                ii(&d, a, b, c, w(15), 0xfe2c_e6e0, 10)
                ii(&c, d, a, b, w(6), 0xa301_4314, 15)
                ii(&b, c, d, a, w(13), 0x4e08_11a1, 21)
                ii(&a, b, c, d, w(4), 0xf753_7e82, 6)
                ii(&d, a, b, c, w(11), 0xbd3a_f235, 10)
                ii(&c, d, a, b, w(2), 0x2ad7_d2bb, 15)
                ii(&b, c, d, a, w(9), 0xeb86_d391, 21)
                sa &+= a
                sb &+= b
                sc &+= c
                sd &+= d
            }
        }
        for l in 0..<16 {
            state[l] = sa[l]
            state[16 + l] = sb[l]
            state[32 + l] = sc[l]
            state[48 + l] = sd[l]
        }
    }
}

// The four step functions of RFC 1321 section 3.4, on every lane.

@inline(__always)
private func rotate(_ x: SIMD16<UInt32>, _ s: UInt32) -> SIMD16<UInt32> { (x &<< s) | (x &>> (32 &- s)) }

@inline(__always)
private func ff(
    _ a: inout SIMD16<UInt32>, _ b: SIMD16<UInt32>, _ c: SIMD16<UInt32>, _ d: SIMD16<UInt32>, _ x: SIMD16<UInt32>,
    _ t: UInt32, _ s: UInt32
) { a = b &+ rotate(a &+ ((b & c) | (~b & d)) &+ x &+ SIMD16(repeating: t), s) }

@inline(__always)
private func gg(
    _ a: inout SIMD16<UInt32>, _ b: SIMD16<UInt32>, _ c: SIMD16<UInt32>, _ d: SIMD16<UInt32>, _ x: SIMD16<UInt32>,
    _ t: UInt32, _ s: UInt32
) { a = b &+ rotate(a &+ ((b & d) | (c & ~d)) &+ x &+ SIMD16(repeating: t), s) }

@inline(__always)
private func hh(
    _ a: inout SIMD16<UInt32>, _ b: SIMD16<UInt32>, _ c: SIMD16<UInt32>, _ d: SIMD16<UInt32>, _ x: SIMD16<UInt32>,
    _ t: UInt32, _ s: UInt32
) { a = b &+ rotate(a &+ (b ^ c ^ d) &+ x &+ SIMD16(repeating: t), s) }

@inline(__always)
private func ii(
    _ a: inout SIMD16<UInt32>, _ b: SIMD16<UInt32>, _ c: SIMD16<UInt32>, _ d: SIMD16<UInt32>, _ x: SIMD16<UInt32>,
    _ t: UInt32, _ s: UInt32
) { a = b &+ rotate(a &+ (c ^ (b | ~d)) &+ x &+ SIMD16(repeating: t), s) }
