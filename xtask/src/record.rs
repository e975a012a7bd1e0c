//! What the generator records on its way for the checks: the shape of
//! each schema it turned into a type (`check.rs`) and each example with
//! its type (the example round-trip test).

use crate::types::Ty;
use crate::yaml::Node;

/// What a schema became, for the property-loss self-check
/// (see `check.rs`).
#[derive(Clone, Debug)]
pub enum Kept {
    /// The Rust type of the schema.
    Ty(Ty),
    /// A request body or response flattened into an operation's own
    /// struct: the JSON names of its fields.
    Fields(Vec<String>),
}

/// A schema and what it was turned into.
#[derive(Clone, Debug)]
pub struct ShapeCheck {
    /// Where it sits, in words (the type name hint).
    pub place: String,
    pub schema: Node,
    pub kept: Kept,
}

/// A spec example and the Rust type it is an example of.
#[derive(Clone, Debug)]
pub struct ExampleUse {
    /// Where it sits, in words.
    pub place: String,
    /// The example as written; `$ref`s in it are absolute (see spec.rs).
    pub example: Node,
    /// The type as written in `generated/mod.rs` (`keys::DeviceInformation`,
    /// `Vec<crate::UserId>`, …).
    pub ty: String,
}

/// The examples a schema (or parameter, or media type) carries: `example`,
/// and `examples` as a 3.1 schema list or an OpenAPI map of `{value}`.
pub fn examples_in(node: &Node) -> Vec<Node> {
    let mut out: Vec<Node> = node.get("example").cloned().into_iter().collect();
    match node.get("examples") {
        Some(Node::Seq(items)) => out.extend(items.iter().cloned()),
        // An Example Object, or a `$ref` to one in `components/examples`
        // (which `examples::resolve` reads the `value` of).
        Some(Node::Map(named)) => out.extend(named.iter().filter_map(|(_, e)| {
            e.get("value")
                .cloned()
                .or_else(|| e.get("$ref").map(|_| e.clone()))
        })),
        _ => {}
    }
    out
}
