import Gateway
import XCTest

final class ProviderImportTests: XCTestCase {
    func testCSVWithQuotesBecomesZonesTheConfigAccepts() throws {
        let csv = #"""
            name,country,region,endpoint,access_key,secret_key,signing_region,path_style
            fi-hel-uc-1,fi,fi-hel,https://fi-hel.example.com,AKIA1,"se,""cret""",eu-north-1,false
            de-fra-hz-1,de,de-fra,http://127.0.0.1:9000,AKIA2,s2,,
            """#
        let toml = try ProviderImport.toml(from: csv, file: "p.csv", existing: ["local"])
        let config = try GatewayConfig.parse(
            "[[zones]]\nname = \"local\"\npath = \"/data\"\n" + toml, file: "t.toml")
        XCTAssertEqual(config.zones.map(\.name), ["local", "fi-hel-uc-1", "de-fra-hz-1"])
        XCTAssertEqual(config.zones[1].secretKey, "se,\"cret\"")
        XCTAssertEqual(config.zones[1].signingRegion, "eu-north-1")
        XCTAssertFalse(config.zones[1].pathStyle)
        XCTAssertEqual(config.zones[2].endpoint, "http://127.0.0.1:9000")
        XCTAssertEqual(config.zones[2].kind, "s3")
    }

    func testBadRowsAreNamed() {
        func error(_ text: String, existing: Set<String> = []) -> String {
            do {
                _ = try ProviderImport.toml(from: text, file: "p", existing: existing)
                return "accepted"
            } catch {
                return error.description
            }
        }
        let header = "name,country,region,endpoint,access_key,secret_key\n"
        XCTAssertEqual(error(header + "a,fi,fi-hel,https://x,k,s\nb,de,de-fra,,k,s\n"), "p: row 2: missing endpoint")
        XCTAssertEqual(error(header + "a,fi,fi-hel,https://x,k\n"), "p: row 1: has 5 fields, the header has 6")
        XCTAssert(error(header + "a,fi,fi-hel,https://x/path,k,s\n").contains("row 1: endpoint"))
        XCTAssertEqual(
            error(header + "a,fi,fi-hel,https://x,k,s\n", existing: ["a"]), "p: row 1: zone \"a\" is defined twice")
        XCTAssertEqual(
            error(
                #"[{"name":"a","country":"fi","region":"r","endpoint":"https://x","access_key":"k","secret_key":"s","colour":"red"}]"#
            ),
            "p: row 1: unknown field \"colour\"")
        XCTAssertEqual(
            error(
                #"[{"name":"a","country":"fi","region":"r","endpoint":"https://x","access_key":"k","secret_key":"s","verify_tls":"maybe"}]"#
            ),
            "p: row 1: verify_tls must be true or false, not \"maybe\"")
        XCTAssertEqual(error("{}"), "p: not a JSON array of provider objects")
        XCTAssertEqual(error(header), "p: no providers in the file")
        XCTAssertEqual(
            error("name,country,name,region\na,fi,b,fi-hel\n"), "p: the header names \"name\" twice")
    }
}
