import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A tiny DOM for the small XML bodies clients send (CreateBucketConfiguration, Delete, ...).
/// Namespaces are ignored: s3cmd sends none, SDKs send S3's.
public final class XMLNode: @unchecked Sendable {
    public let name: String
    public fileprivate(set) var children: [XMLNode] = []
    public fileprivate(set) var text = ""

    init(name: String) { self.name = name }

    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// Parses a document; nil when it is not well-formed. DTDs and external entities are refused.
    public static func parse(_ bytes: [UInt8]) -> XMLNode? {
        // S3 bodies never need a DTD; refusing one up front rules out entity expansion attacks.
        if bytes.firstRange(of: Array("<!DOCTYPE".utf8)) != nil || bytes.firstRange(of: Array("<!ENTITY".utf8)) != nil {
            return nil
        }
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = true
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse(), !builder.sawDTD, builder.stack.isEmpty, builder.closedRoot, let root = builder.root else {
            return nil
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLNode] = []
        var root: XMLNode?
        var sawDTD = false
        /// A truncated document parses without error on some platforms; require the root's end tag.
        var closedRoot = false

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            let node = XMLNode(name: elementName)
            if let parent = stack.last { parent.children.append(node) } else { root = node }
            stack.append(node)
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
        ) {
            _ = stack.popLast()
            if stack.isEmpty { closedRoot = true }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            stack.last?.text += String(decoding: block, as: UTF8.self)
        }

        func parser(
            _ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String
        ) {
            sawDTD = true
            parser.abortParsing()
        }

        func parser(
            _ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?
        ) {
            sawDTD = true
            parser.abortParsing()
        }
    }
}
