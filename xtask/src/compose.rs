//! Composing schemas: `$ref` with sibling keys, and `allOf`.

use crate::model::Model;
use crate::spec::parse_abs_ref;
use crate::spec::Location;
use crate::spec::Spec;
use crate::yaml::Node;

/// Overlays `over` on `base` (sibling keys of a `$ref` win).
fn overlay(base: &Node, over: &[(String, Node)]) -> Node {
    let mut entries = base.entries().to_vec();
    for (k, v) in over {
        if k == "$ref" {
            continue;
        }
        match entries.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1 = v.clone(),
            None => entries.push((k.clone(), v.clone())),
        }
    }
    Node::Map(entries)
}

/// `later` on top of `earlier`, merging nested maps key by key.
fn deep_merge(earlier: &Node, later: &Node) -> Node {
    match (earlier, later) {
        (Node::Map(a), Node::Map(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                match out.iter_mut().find(|(ek, _)| ek == k) {
                    // An example is a value, not a schema: the later one
                    // replaces the earlier whole.
                    Some(slot) if k == "example" || k == "examples" => slot.1 = v.clone(),
                    Some(slot) => slot.1 = deep_merge(&slot.1, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Node::Map(out)
        }
        (_, later) => later.clone(),
    }
}

pub(crate) fn is_object_like(node: &Node) -> bool {
    node.str("type") == Some("object")
        || node.get("properties").is_some()
        || node.get("additionalProperties").is_some()
        || node.get("patternProperties").is_some()
}

impl Model {
    /// Resolves `$ref` (with sibling overrides) and flattens `allOf`,
    /// returning the effective schema and, when it came from elsewhere,
    /// where (its identity as a shared type).
    pub fn effective(
        &mut self,
        spec: &mut Spec,
        node: &Node,
    ) -> Result<(Node, Option<Location>), String> {
        if let Some(reference) = node.str("$ref") {
            let loc = parse_abs_ref(reference)?;
            let target = spec.node(&loc)?;
            let (resolved, _) = self.effective(spec, &target)?;
            return Ok((overlay(&resolved, node.entries()), Some(loc)));
        }
        if let Some(members) = node.get("allOf") {
            let own: Vec<(String, Node)> = node
                .entries()
                .iter()
                .filter(|(k, _)| k != "allOf")
                .cloned()
                .collect();
            let has_own_shape = own.iter().any(|(k, _)| {
                matches!(
                    k.as_str(),
                    "properties" | "required" | "additionalProperties" | "patternProperties"
                )
            });
            // `allOf: [$ref]` only attaches a description: keep the identity.
            if members.items().len() == 1 && !has_own_shape {
                let (resolved, identity) = self.effective(spec, &members.items()[0])?;
                return Ok((overlay(&resolved, &own), identity));
            }
            // Every member, then the schema's own keys, folded in order: a
            // later one wins for plain keys, properties and `required` are
            // unioned, and a property two of them declare is merged key by
            // key (ClientEvent narrows `unsigned.redacted_because` of the
            // event it extends; DeviceInformation adds `unsigned` to
            // DeviceKeys). Replacing instead of merging loses fields.
            let mut acc = Node::Map(vec![]);
            for member in members.items() {
                let (resolved, _) = self.effective(spec, member)?;
                acc = self.merge_schema(spec, &acc, &resolved)?;
            }
            acc = self.merge_schema(spec, &acc, &Node::Map(own))?;
            return Ok((acc, None));
        }
        Ok((node.clone(), None))
    }

    /// `later` folded into `earlier` as `allOf` asks: see [`Self::effective`].
    fn merge_schema(
        &mut self,
        spec: &mut Spec,
        earlier: &Node,
        later: &Node,
    ) -> Result<Node, String> {
        let mut out = earlier.entries().to_vec();
        for (k, v) in later.entries() {
            let slot = out.iter().position(|(existing, _)| existing == k);
            let merged = match (k.as_str(), slot) {
                ("properties", Some(i)) => {
                    let mut props = out[i].1.entries().to_vec();
                    for (pk, pv) in v.entries() {
                        match props.iter().position(|(e, _)| e == pk) {
                            Some(j) => {
                                let (a, _) = self.effective(spec, &props[j].1)?;
                                let (b, _) = self.effective(spec, pv)?;
                                props[j].1 = deep_merge(&a, &b);
                            }
                            None => props.push((pk.clone(), pv.clone())),
                        }
                    }
                    Node::Map(props)
                }
                ("required", Some(i)) => {
                    let mut all = out[i].1.items().to_vec();
                    all.extend(
                        v.items()
                            .iter()
                            .filter(|r| !all.contains(r))
                            .cloned()
                            .collect::<Vec<_>>(),
                    );
                    Node::Seq(all)
                }
                _ => v.clone(),
            };
            match slot {
                Some(i) => out[i].1 = merged,
                None => out.push((k.clone(), merged)),
            }
        }
        Ok(Node::Map(out))
    }
}
