//! Spec examples as JSON, with the example files they refer to read in.

use crate::spec::Spec;
use crate::yaml::Node;

/// An example as JSON. A `{"$ref": …}` inside it (absolute after loading,
/// see spec.rs) is replaced by the referenced example, with the keys
/// beside the `$ref` merged in on top (an event example plus the
/// `room_id` an endpoint adds).
pub fn resolve(spec: &mut Spec, node: &Node) -> Result<serde_json::Value, String> {
    resolve_at(spec, node, 0)
}

fn resolve_at(spec: &mut Spec, node: &Node, depth: usize) -> Result<serde_json::Value, String> {
    if depth > 16 {
        return Err("example `$ref`s nest deeper than 16".into());
    }
    if let Some(reference) = node.str("$ref") {
        let target = spec.follow(reference)?;
        // A reusable Example Object: its `value` is the example.
        if reference.contains("#/components/examples/") {
            let value = target
                .get("value")
                .ok_or_else(|| format!("{reference} has no value"))?;
            return resolve_at(spec, value, depth + 1);
        }
        let mut merged = resolve_at(spec, &target, depth + 1)?;
        if let serde_json::Value::Object(map) = &mut merged {
            for (k, v) in node.entries().iter().filter(|(k, _)| k != "$ref") {
                map.insert(k.clone(), resolve_at(spec, v, depth + 1)?);
            }
        }
        return Ok(merged);
    }
    Ok(match node {
        Node::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                map.insert(k.clone(), resolve_at(spec, v, depth + 1)?);
            }
            serde_json::Value::Object(map)
        }
        Node::Seq(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| resolve_at(spec, i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        other => other.to_json(),
    })
}
