import Foundation
import DICOM

/// Where an element sits in a data set tree: the sequence items leading to it, then its tag.
public struct ElementPath: Hashable, Sendable, CustomStringConvertible {
    /// One step down: item `item` of sequence `tag`.
    public struct Step: Hashable, Sendable {
        public var tag: Tag
        public var item: Int
        public init(tag: Tag, item: Int) {
            self.tag = tag
            self.item = item
        }
    }

    public var steps: [Step]
    public var tag: Tag

    public init(_ steps: [Step] = [], _ tag: Tag) {
        self.steps = steps
        self.tag = tag
    }

    public var description: String {
        (steps.map { "\($0.tag)[\($0.item)]" } + ["\(tag)"]).joined(separator: ".")
    }
}

extension DataSet {
    /// Every element of the tree, depth first (sequences and the elements of their items),
    /// down to `maxDepth` levels of nesting.
    public func elementPaths(maxDepth: Int = 8) -> [ElementPath] {
        var out: [ElementPath] = []
        collect(prefix: [], depth: 0, maxDepth: maxDepth, into: &out)
        return out
    }

    private func collect(prefix: [ElementPath.Step], depth: Int, maxDepth: Int, into out: inout [ElementPath]) {
        for e in elements {
            out.append(ElementPath(prefix, e.tag))
            guard depth < maxDepth, case .sequence(let items) = e.value else { continue }
            for (n, item) in items.enumerated() {
                item.collect(prefix: prefix + [ElementPath.Step(tag: e.tag, item: n)], depth: depth + 1, maxDepth: maxDepth, into: &out)
            }
        }
    }

    /// The element at `path`, if present.
    public func element(at path: ElementPath) -> Element? {
        guard let first = path.steps.first else { return self[path.tag] }
        guard let items = sequence(first.tag), first.item < items.count else { return nil }
        return items[first.item].element(at: ElementPath(Array(path.steps.dropFirst()), path.tag))
    }

    /// Changes (or, with nil, removes) the element at `path`. Items along the way keep
    /// their character set.
    public mutating func modify(_ path: ElementPath, _ body: (inout Element?) -> Void) {
        guard let first = path.steps.first else {
            var e = self[path.tag]
            body(&e)
            self[path.tag] = e
            return
        }
        guard var items = sequence(first.tag), first.item < items.count, let seq = self[first.tag] else { return }
        items[first.item].modify(ElementPath(Array(path.steps.dropFirst()), path.tag), body)
        self[first.tag] = Element(tag: first.tag, vr: seq.vr == .UN ? .SQ : seq.vr, value: .sequence(items))
    }

    /// Changes every element reached by following `tags` (sequence tags, then the element's
    /// tag) through every item.
    public mutating func modifyAll(_ tags: [Tag], _ body: (inout Element?) -> Void) {
        for path in elementPaths() where path.steps.map(\.tag) + [path.tag] == tags {
            modify(path, body)
        }
    }

    /// The paths of every element reached by following `tags`, in depth-first order.
    public func paths(following tags: [Tag]) -> [ElementPath] {
        elementPaths().filter { $0.steps.map(\.tag) + [$0.tag] == tags }
    }
}

extension Element {
    /// The backslash-separated values of a text element (DS, IS, CS…), untrimmed; nil for
    /// sequences and encapsulated data.
    public var textValues: [String]? {
        guard let d = bytes else { return nil }
        let s = String(decoding: d, as: UTF8.self)
        return s.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
    }

    /// The same element with its text value replaced by `values` joined with backslashes.
    public func withText(_ values: [String]) -> Element {
        Element(tag: tag, vr: vr, value: .bytes(Data(values.joined(separator: "\\").utf8)))
    }

    /// The same element with value number `index` of its text replaced by `text`.
    public func replacingValue(_ index: Int, with text: String) -> Element {
        var v = textValues ?? []
        guard !v.isEmpty else { return withText([text]) }
        v[Swift.min(Swift.max(0, index), v.count - 1)] = text
        return withText(v)
    }
}
