import Testing

@testable import BerkeleyQueue

/// The digest is part of the on-disk format (the index's keys): it must stay SipHash-2-4.
@Suite struct MessageDigestTests {
    /// Key 00 01 … 0f and messages 00 01 … of the given length, from the SipHash paper's vectors.
    @Test(arguments: [
        (0, 0x726f_db47_dd0e_0e31 as UInt64),
        (1, 0x74f8_39c5_93dc_67fd),
        (7, 0xab02_00f5_8b01_d137),
        (8, 0x93f5_f579_9a93_2462),
        (15, 0xa129_ca61_49be_45e5),
        (63, 0x958a_324c_eb06_4572),
    ])
    func matchesSipHash24ReferenceVectors(length: Int, expected: UInt64) {
        let digest = MessageDigest(key0: 0x0706_0504_0302_0100, key1: 0x0f0e_0d0c_0b0a_0908)
        let message = (0..<length).map { UInt8($0) }
        #expect(message.withUnsafeBytes { digest.digest($0) } == expected)
    }
}
