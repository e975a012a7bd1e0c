//! The generator's self-check: no property the spec declares is lost.
//!
//! For every schema the generator turned into a type, the JSON property
//! names the schema declares are collected again here, by a resolver of
//! its own (`$ref` targets, every `allOf` member, the schema's own
//! `properties`), and compared with the fields of the generated type. A
//! name that is neither a field nor kept as raw JSON is a lost property,
//! and generation fails, unless it is listed in [`EXCEPTIONS`].
//!
//! Keeping this resolver apart from `model.rs` is the point: a merging
//! bug there (an `allOf` member's properties replaced by the inline ones)
//! cannot hide itself here.

use std::collections::BTreeSet;

use crate::model::{Kept, Model, Ty, TypeKind};
use crate::spec::Spec;
use crate::yaml::Node;

/// Properties deliberately not fields: (place, property, why). Keep it
/// short; every entry needs a reason a reader accepts.
pub const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// What a type keeps of a JSON object.
enum Keeps {
    /// Every key (raw JSON, or a hand-written type that keeps extra keys).
    Everything,
    /// These keys as fields.
    Fields(BTreeSet<String>),
}

/// The property names a schema declares, resolved independently of the
/// model. `oneOf` variants are not the schema's own properties: each
/// variant is checked where it becomes a type.
fn declared(spec: &mut Spec, node: &Node, depth: usize) -> Result<BTreeSet<String>, String> {
    if depth > 32 {
        return Err("`$ref`/`allOf` nesting deeper than 32".into());
    }
    let mut out = BTreeSet::new();
    if let Some(reference) = node.str("$ref") {
        let target = spec.follow(reference)?;
        out.extend(declared(spec, &target, depth + 1)?);
    }
    if let Some(props) = node.get("properties") {
        out.extend(props.entries().iter().map(|(k, _)| k.clone()));
    }
    for member in node.get("allOf").map(Node::items).unwrap_or_default() {
        out.extend(declared(spec, member, depth + 1)?);
    }
    Ok(out)
}

fn keeps(model: &Model, ty: &Ty) -> Keeps {
    match ty {
        // Raw JSON keeps every key; `AuthData` keeps a stage's keys in a
        // flattened map.
        Ty::Json | Ty::JsonObject | Ty::Crate("AuthData") => Keeps::Everything,
        Ty::Nullable(inner) | Ty::Lenient(inner) => keeps(model, inner),
        Ty::Named(module, name) => {
            let def = model
                .modules
                .get(module)
                .and_then(|m| m.types.iter().find(|d| &d.name == name));
            match def.map(|d| &d.kind) {
                Some(TypeKind::Struct { fields, .. }) => {
                    Keeps::Fields(fields.iter().map(|f| f.wire.clone()).collect())
                }
                // An object variant of a union keeps what its struct keeps.
                Some(TypeKind::Untagged { variants }) => {
                    let mut all = BTreeSet::new();
                    for (_, variant) in variants {
                        match keeps(model, variant) {
                            Keeps::Everything => return Keeps::Everything,
                            Keeps::Fields(f) => all.extend(f),
                        }
                    }
                    Keeps::Fields(all)
                }
                _ => Keeps::Fields(BTreeSet::new()),
            }
        }
        _ => Keeps::Fields(BTreeSet::new()),
    }
}

/// Every lost property, as one line each; empty when none is lost.
pub fn lost_properties(spec: &mut Spec, model: &Model) -> Result<Vec<String>, String> {
    let mut lost = BTreeSet::new();
    for shape in &model.shapes {
        let declared = declared(spec, &shape.schema, 0)?;
        if declared.is_empty() {
            continue;
        }
        let kept = match &shape.kept {
            Kept::Ty(ty) => keeps(model, ty),
            Kept::Fields(fields) => Keeps::Fields(fields.iter().cloned().collect()),
        };
        let Keeps::Fields(fields) = kept else {
            continue;
        };
        for name in declared.difference(&fields) {
            let excepted = EXCEPTIONS
                .iter()
                .any(|(place, prop, _)| *place == shape.place && prop == name);
            if !excepted {
                lost.insert(format!(
                    "{}: property `{name}` is not a field of the generated type",
                    shape.place
                ));
            }
        }
    }
    Ok(lost.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ShapeCheck;

    /// A model that kept only `unsigned` of a schema that also inherits
    /// `user_id` and `keys` through `allOf` (the DeviceInformation bug).
    #[test]
    fn a_property_inherited_through_all_of_and_dropped_is_reported() {
        let dir = std::env::temp_dir().join(format!("quotient-check-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("api")).unwrap();
        std::fs::write(
            dir.join("api/base.yaml"),
            "type: object\nproperties:\n  user_id: {type: string}\n  keys: {type: object}\n",
        )
        .unwrap();
        let mut spec = Spec::new(dir.clone());
        let schema = crate::yaml::parse(
            "allOf:\n  - $ref: 'api/base.yaml#'\nproperties:\n  unsigned: {type: object}\n",
        )
        .unwrap();
        let mut model = Model::default();
        model.shapes.push(ShapeCheck {
            place: "keys::DeviceInformation".into(),
            schema: schema.clone(),
            kept: Kept::Fields(vec!["unsigned".into()]),
        });
        let lost = lost_properties(&mut spec, &model).unwrap();
        assert_eq!(
            lost,
            [
                "keys::DeviceInformation: property `keys` is not a field of the generated type",
                "keys::DeviceInformation: property `user_id` is not a field of the generated type"
            ]
        );
        // Kept as raw JSON: nothing is lost.
        model.shapes[0].kept = Kept::Ty(Ty::Json);
        assert!(lost_properties(&mut spec, &model).unwrap().is_empty());
        std::fs::remove_dir_all(dir).ok();
    }
}
