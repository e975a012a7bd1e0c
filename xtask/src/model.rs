//! From OpenAPI schemas to a model of Rust types and operations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub use crate::record::{examples_in, ExampleUse, Kept, ShapeCheck};
pub use crate::rules::{
    is_identifier, KEEPS_UNDECLARED_KEYS, MAX_NAME_PARTS, NAME_OVERRIDES, SEP, STD_PRELUDE,
};
pub use crate::types::*;

use crate::compose::is_object_like;
use crate::names::{pascal, snake};
use crate::rules::{id_type, is_event_schema, is_secret_property, shared_enum, RESERVED_NAMES};
use crate::spec::{file_stem, parse_abs_ref, Location, Spec};
use crate::yaml::Node;

pub const DEFINITIONS: &str = "definitions";

#[derive(Default)]
pub struct Model {
    /// Problems found while modelling that fail the run (names too deep).
    pub errors: Vec<String>,
    pub modules: BTreeMap<String, Module>,
    /// Shared schemas already turned into types.
    by_location: HashMap<Location, Ty>,
    /// Every schema turned into a type, for the property-loss check.
    pub shapes: Vec<ShapeCheck>,
    /// Every example met on the way, with its type.
    pub examples: Vec<ExampleUse>,
}

impl Model {
    pub fn module_mut(&mut self, name: &str) -> &mut Module {
        self.modules
            .entry(name.to_owned())
            .or_insert_with(|| Module {
                // Generated types must not shadow what generated code or
                // its users use.
                names: RESERVED_NAMES
                    .iter()
                    .chain(STD_PRELUDE)
                    .map(|n| (*n).to_owned())
                    .collect(),
                ..Module::default()
            })
    }

    pub(crate) fn add_type(&mut self, module: &str, def: TypeDef) {
        self.module_mut(module).types.push(def);
    }

    /// Records what a schema became and the examples it carries.
    pub fn record(&mut self, place: &str, schema: &Node, kept: Kept, ty: Option<&Ty>) {
        if let Some(ty) = ty {
            for example in examples_in(schema) {
                self.examples.push(ExampleUse {
                    place: place.to_owned(),
                    example,
                    ty: ty.qualified(),
                });
            }
        }
        self.shapes.push(ShapeCheck {
            place: place.to_owned(),
            schema: schema.clone(),
            kept,
        });
    }

    /// The Rust type for a schema. Anonymous types go into `module`,
    /// named `hint` unless the schema has a free title.
    pub fn ty(
        &mut self,
        spec: &mut Spec,
        module: &str,
        node: &Node,
        hint: &str,
    ) -> Result<Ty, String> {
        let ty = self.ty_unrecorded(spec, module, node, hint)?;
        // The examples beside a `$ref` and those of its target.
        if node.get("$ref").is_some() || node.get("allOf").is_some() {
            if let Ok((schema, _)) = self.effective(spec, node) {
                for example in examples_in(&schema) {
                    if !examples_in(node).contains(&example) {
                        self.examples.push(ExampleUse {
                            place: format!("{module}::{}", hint.replace(SEP, "")),
                            example,
                            ty: ty.qualified(),
                        });
                    }
                }
            }
        }
        let place = format!("{module}::{}", hint.replace(SEP, ""));
        self.record(&place, node, Kept::Ty(ty.clone()), Some(&ty));
        Ok(ty)
    }

    fn ty_unrecorded(
        &mut self,
        spec: &mut Spec,
        module: &str,
        node: &Node,
        hint: &str,
    ) -> Result<Ty, String> {
        if let Some(reference) = node.str("$ref").or_else(|| single_all_of_ref(node)) {
            let loc = parse_abs_ref(reference)?;
            if loc.file.starts_with("event-schemas") {
                return Ok(Ty::Json);
            }
            if loc.file == Path::new("api/client-server/definitions/auth_data.yaml") {
                return Ok(Ty::Crate("AuthData"));
            }
            if let Some(ty) = self.by_location.get(&loc) {
                return Ok(ty.clone());
            }
            let (schema, _) = self.effective(spec, node)?;
            let home = if loc.pointer.is_empty()
                || !loc.file.starts_with("api/client-server")
                || loc.file.parent() != Some(Path::new("api/client-server"))
            {
                DEFINITIONS.to_owned()
            } else {
                crate::names::module(&file_stem(&loc.file))
            };
            let base_name = if loc.pointer.is_empty() {
                pascal(&file_stem(&loc.file))
            } else {
                pascal(loc.pointer.rsplit('/').next().unwrap_or("Type"))
            };
            if is_nameable(&schema) {
                // A shared type is named after its target's own title, not
                // after a `title` one use puts beside its `$ref` (the sync
                // timeline calls ClientEventWithoutRoomID `Event`).
                let target = spec.node(&loc)?;
                let (target, _) = self.effective(spec, &target)?;
                let title = target.str("title").or(schema.str("title")).map(pascal);
                let name = self.reserve(&home, title, &base_name);
                let ty = Ty::Named(home.clone(), name.clone());
                self.by_location.insert(loc.clone(), ty.clone());
                let origin = if loc.pointer.is_empty() {
                    format!("`{}`", loc.file.display())
                } else {
                    format!("`{}#{}`", loc.file.display(), loc.pointer)
                };
                self.define(spec, &home, &schema, name, origin)?;
                return Ok(ty);
            }
            // A shared map or list (`one_time_keys.yaml`): the types inside
            // it are shared too, named after the file, not after each use.
            if is_object_like(&schema) || schema.str("type") == Some("array") {
                let ty = self.ty_inline(spec, &home, &schema, &base_name)?;
                self.by_location.insert(loc, ty.clone());
                return Ok(ty);
            }
            return self.ty_inline(spec, module, &schema, hint);
        }
        let (schema, _) = self.effective(spec, node)?;
        self.ty_inline(spec, module, &schema, hint)
    }

    fn ty_inline(
        &mut self,
        spec: &mut Spec,
        module: &str,
        schema: &Node,
        hint: &str,
    ) -> Result<Ty, String> {
        if let Some(variants) = schema.get("oneOf") {
            return self.one_of(spec, module, schema, variants.items(), hint);
        }
        if let Some(Node::Seq(kinds)) = schema.get("type") {
            let kinds: Vec<&str> = kinds.iter().filter_map(Node::as_str).collect();
            let nullable = kinds.contains(&"null");
            let rest: Vec<&str> = kinds.iter().copied().filter(|k| *k != "null").collect();
            let inner = if rest.len() == 1 {
                let mut single = schema.entries().to_vec();
                single.retain(|(k, _)| k != "type");
                single.push(("type".into(), Node::Str(rest[0].into())));
                self.ty_inline(spec, module, &Node::Map(single), hint)?
            } else {
                let variants: Vec<Node> = rest
                    .iter()
                    .map(|k| {
                        let mut v = vec![("type".to_owned(), Node::Str((*k).into()))];
                        if *k == "object" {
                            v.extend(
                                schema
                                    .entries()
                                    .iter()
                                    .filter(|(k, _)| {
                                        k == "properties"
                                            || k == "required"
                                            || k == "additionalProperties"
                                    })
                                    .cloned(),
                            );
                        }
                        Node::Map(v)
                    })
                    .collect();
                self.one_of(spec, module, schema, &variants, hint)?
            };
            return Ok(if nullable {
                Ty::Nullable(Box::new(inner))
            } else {
                inner
            });
        }
        match schema.str("type") {
            Some("string") => {
                if let Some(values) = schema.get("enum") {
                    let values: Vec<String> = values
                        .items()
                        .iter()
                        .filter_map(|v| match v {
                            Node::Str(s) => Some(s.clone()),
                            Node::Int(i) => Some(i.to_string()),
                            _ => None,
                        })
                        .collect();
                    // A named schema's own enum (see `define`) keeps its name.
                    let defining = hint.ends_with(&format!("{SEP}Kind"));
                    if let Some(shared) = shared_enum(&values).filter(|_| !defining) {
                        return Ok(self.shared_enum_type(shared, values));
                    }
                    let name = self.reserve(module, schema.str("title").map(pascal), hint);
                    self.add_type(
                        module,
                        TypeDef {
                            name: name.clone(),
                            origin: "an inline string enum".into(),
                            kind: TypeKind::StringEnum { values },
                        },
                    );
                    return Ok(Ty::Named(module.to_owned(), name));
                }
                Ok(schema
                    .str("format")
                    .and_then(id_type)
                    .map_or(Ty::String, Ty::Crate))
            }
            Some("integer") => Ok(Ty::Int),
            Some("number") => Ok(Ty::Float),
            Some("boolean") => Ok(Ty::Bool),
            Some("array") => {
                let item_hint = format!("{hint}{SEP}Item");
                let items = match schema.get("items") {
                    Some(items) => {
                        let ty = self.ty(spec, module, items, &item_hint)?;
                        let (item_schema, _) = self.effective(spec, items)?;
                        if is_event_schema(&item_schema) && matches!(ty, Ty::Named(..)) {
                            Ty::Lenient(Box::new(ty))
                        } else {
                            ty
                        }
                    }
                    None => Ty::Json,
                };
                Ok(Ty::Vec(Box::new(items)))
            }
            _ if is_object_like(schema) => self.object(spec, module, schema, hint),
            _ => Ok(Ty::Json),
        }
    }

    fn object(
        &mut self,
        spec: &mut Spec,
        module: &str,
        schema: &Node,
        hint: &str,
    ) -> Result<Ty, String> {
        let schema = &crate::rules::with_prose_properties(schema, None)?;
        let has_props = schema
            .get("properties")
            .is_some_and(|p| !p.entries().is_empty());
        if has_props {
            let name = self.reserve(module, schema.str("title").map(pascal), hint);
            self.define(
                spec,
                module,
                schema,
                name.clone(),
                "an inline object".into(),
            )?;
            return Ok(Ty::Named(module.to_owned(), name));
        }
        match self.map_type(spec, module, schema, hint)? {
            Some(map) => Ok(map),
            None => Ok(Ty::JsonObject),
        }
    }

    /// `additionalProperties` / `patternProperties` as a map, if declared.
    fn map_type(
        &mut self,
        spec: &mut Spec,
        module: &str,
        schema: &Node,
        hint: &str,
    ) -> Result<Option<Ty>, String> {
        if let Some(patterns) = schema.get("patternProperties") {
            if let Some((_, value)) = patterns.entries().first() {
                let key = value
                    .str("x-pattern-format")
                    .and_then(id_type)
                    .map_or(Ty::String, Ty::Crate);
                let value_ty = self.ty(spec, module, value, &format!("{hint}{SEP}Value"))?;
                return Ok(Some(Ty::Map(Box::new(key), Box::new(value_ty))));
            }
        }
        match schema.get("additionalProperties") {
            Some(value) if value.is_map() => {
                let value_ty = self.ty(spec, module, value, &format!("{hint}{SEP}Value"))?;
                Ok(Some(Ty::Map(Box::new(Ty::String), Box::new(value_ty))))
            }
            _ => Ok(None),
        }
    }

    fn one_of(
        &mut self,
        spec: &mut Spec,
        module: &str,
        schema: &Node,
        variants: &[Node],
        hint: &str,
    ) -> Result<Ty, String> {
        let mut tys = Vec::new();
        for (i, variant) in variants.iter().enumerate() {
            tys.push(self.ty(spec, module, variant, &format!("{hint}{SEP}Variant{i}"))?);
        }
        let ids: Vec<&Ty> = tys.iter().collect();
        if ids == [&Ty::Crate("RoomId"), &Ty::Crate("RoomAliasId")] {
            return Ok(Ty::Crate("RoomOrAliasId"));
        }
        let mut kinds: Vec<&str> = Vec::new();
        for ty in &tys {
            match ty.json_kind() {
                Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                // Variants JSON cannot tell apart: the documented fallback.
                _ => return Ok(Ty::Json),
            }
        }
        let name = self.reserve(module, schema.str("title").map(pascal), hint);
        let variants = tys
            .into_iter()
            .map(|ty| {
                let label = match &ty {
                    Ty::Named(_, n) => n.clone(),
                    Ty::Crate(n) => (*n).to_owned(),
                    Ty::String | Ty::Secret => "String".into(),
                    Ty::Int => "Integer".into(),
                    Ty::Float => "Number".into(),
                    Ty::Bool => "Boolean".into(),
                    Ty::Vec(_) => "Array".into(),
                    _ => "Object".into(),
                };
                (label, ty)
            })
            .collect();
        self.add_type(
            module,
            TypeDef {
                name: name.clone(),
                origin: "a `oneOf` or type array".into(),
                kind: TypeKind::Untagged { variants },
            },
        );
        Ok(Ty::Named(module.to_owned(), name))
    }

    /// Defines a named type for a nameable schema.
    fn define(
        &mut self,
        spec: &mut Spec,
        module: &str,
        schema: &Node,
        name: String,
        origin: String,
    ) -> Result<(), String> {
        if schema.str("type") == Some("string")
            || schema.get("oneOf").is_some()
            || matches!(schema.get("type"), Some(Node::Seq(_)))
        {
            // Enums and unions name themselves; alias the reserved name.
            let ty = self.ty_inline(spec, module, schema, &format!("{name}{SEP}Kind"))?;
            if let Ty::Named(m, inner) = &ty {
                if m == module {
                    if let Some(def) = self
                        .module_mut(module)
                        .types
                        .iter_mut()
                        .find(|d| &d.name == inner)
                    {
                        def.name = name.clone();
                        def.origin = origin;
                    }
                    let module_names = &mut self.module_mut(module).names;
                    module_names.remove(inner);
                }
            }
            return Ok(());
        }
        let (fields, additional) = self.fields(spec, module, schema, &name)?;
        self.add_type(
            module,
            TypeDef {
                name,
                origin,
                kind: TypeKind::Struct { fields, additional },
            },
        );
        Ok(())
    }

    /// The fields of an object schema, plus the type of extra keys.
    pub fn fields(
        &mut self,
        spec: &mut Spec,
        module: &str,
        schema: &Node,
        parent: &str,
    ) -> Result<(Vec<Field>, Option<Ty>), String> {
        let plain_parent = parent.replace(SEP, "");
        let schema = &crate::rules::with_prose_properties(schema, Some(&plain_parent))?;
        let required: Vec<&str> = schema
            .get("required")
            .map(|r| r.items().iter().filter_map(Node::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        let mut used = HashSet::new();
        if let Some(props) = schema.get("properties") {
            for (wire, prop) in props.entries() {
                let hint = format!("{parent}{SEP}{}", pascal(wire));
                let mut ty = self.ty(spec, module, prop, &hint)?;
                if ty == Ty::String && is_secret_property(wire) {
                    ty = Ty::Secret;
                }
                let mut rust = snake(wire);
                while !used.insert(rust.clone()) {
                    rust.push('_');
                }
                fields.push(Field {
                    wire: wire.clone(),
                    rust,
                    ty,
                    required: required.contains(&wire.as_str()),
                });
            }
        }
        let additional = self
            .map_type(spec, module, schema, &format!("{parent}{SEP}Extra"))?
            .map(|map| match map {
                Ty::Map(_, value) => *value,
                other => other,
            })
            .or_else(|| {
                schema
                    .str("title")
                    .filter(|t| KEEPS_UNDECLARED_KEYS.iter().any(|(k, _)| k == t))
                    .map(|_| Ty::Json)
            });
        Ok((fields, additional))
    }
}

fn is_nameable(schema: &Node) -> bool {
    (schema.str("type") == Some("string") && schema.get("enum").is_some())
        || schema
            .get("properties")
            .is_some_and(|p| !p.entries().is_empty())
}

pub(crate) fn single_all_of_ref(node: &Node) -> Option<&str> {
    let members = node.get("allOf")?.items();
    let own_shape = [
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
    ]
    .iter()
    .any(|k| node.get(k).is_some());
    if members.len() != 1 || own_shape {
        return None;
    }
    members[0].str("$ref")
}
