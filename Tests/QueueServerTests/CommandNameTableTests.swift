import NIOCore
import Testing

@testable import QueueServer

@Suite struct CommandNameTableTests {
    @Test func findsEveryCommandByItsNameInAnyCase() {
        for command in RESPCommand.allCases {
            let name = command.spec.name
            for spelling in [name, name.uppercased(), name.prefix(1).uppercased() + name.dropFirst()] {
                let found = CommandName(ByteBuffer(string: spelling)).flatMap { RESPCommand.byName[$0] }
                #expect(found?.command == command, "\(spelling)")
                #expect(found?.arity.value == command.spec.arity, "\(spelling)")
            }
        }
    }

    @Test func findsNothingForOtherNames() {
        for name in ["", "get", "sad", "saddd", "lpushx", "blpo", "commandx", "flushallflushall", "s\u{0}dd"] {
            #expect(CommandName(ByteBuffer(string: name)).flatMap { RESPCommand.byName[$0] } == nil, "\(name)")
        }
    }

    @Test func probesPastNamesThatShareASlot() {
        // 40 names in 256 slots: several start at a taken slot (a lookup that stops there fails
        // this test 11 times).
        let names = (0..<40).map { CommandName("c\($0)") }
        let table = CommandNameTable(names.enumerated().map { ($1, $0) })
        for (value, name) in names.enumerated() {
            #expect(table[name] == value)
        }
        #expect(table[CommandName("c40")] == nil)
    }
}
