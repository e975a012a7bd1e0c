//! From OpenAPI schemas to a model of Rust types and operations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::names::{pascal, snake};
use crate::spec::{Location, Spec};
use crate::yaml::Node;

/// A Rust type, written relative to a generated module.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    String,
    Int,
    Float,
    Bool,
    /// Any JSON (`serde_json::Value`): event payloads and the documented
    /// fallback for `oneOf`s that cannot be told apart by JSON kind.
    Json,
    /// A JSON object with no declared properties.
    JsonObject,
    Secret,
    /// A hand-written type at the crate root (`UserId`, `AuthData`, …).
    Crate(&'static str),
    /// A generated type: (module, name).
    Named(String, String),
    Vec(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    /// A 3.1 type array with `"null"`.
    Nullable(Box<Ty>),
    /// An item of an event list, raw when it does not fit its type
    /// (`quotient_api::Lenient`).
    Lenient(Box<Ty>),
}

impl Ty {
    /// The type as written in `generated/mod.rs`.
    pub fn qualified(&self) -> String {
        self.rust("__mod").replace("super::", "")
    }

    /// The type as written inside module `module`.
    pub fn rust(&self, module: &str) -> String {
        match self {
            Ty::String => "String".into(),
            Ty::Int => "i64".into(),
            Ty::Float => "f64".into(),
            Ty::Bool => "bool".into(),
            Ty::Json => "serde_json::Value".into(),
            Ty::JsonObject => "JsonObject".into(),
            Ty::Secret => "crate::SecretString".into(),
            Ty::Crate(name) => format!("crate::{name}"),
            Ty::Named(m, name) if m == module => name.clone(),
            Ty::Named(m, name) => format!("super::{m}::{name}"),
            Ty::Vec(t) => format!("Vec<{}>", t.rust(module)),
            Ty::Map(k, v) => format!("BTreeMap<{}, {}>", k.rust(module), v.rust(module)),
            Ty::Nullable(t) => format!("Option<{}>", t.rust(module)),
            Ty::Lenient(t) => format!("crate::Lenient<{}>", t.rust(module)),
        }
    }

    /// The JSON kind a value of this type has, for untagged enums.
    fn json_kind(&self) -> Option<&'static str> {
        Some(match self {
            Ty::String | Ty::Secret | Ty::Crate(_) => "string",
            Ty::Int | Ty::Float => "number",
            Ty::Bool => "boolean",
            Ty::Vec(_) => "array",
            Ty::JsonObject | Ty::Map(..) => "object",
            Ty::Named(..) => "object",
            Ty::Json | Ty::Nullable(_) | Ty::Lenient(_) => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub wire: String,
    pub rust: String,
    pub ty: Ty,
    pub required: bool,
}

#[derive(Clone, Debug)]
pub enum TypeKind {
    Struct {
        fields: Vec<Field>,
        additional: Option<Ty>,
    },
    /// A string enum with an `Other(String)` fallback.
    StringEnum { values: Vec<String> },
    /// `oneOf` / type arrays whose variants differ by JSON kind.
    Untagged { variants: Vec<(String, Ty)> },
}

#[derive(Clone, Debug)]
pub struct TypeDef {
    pub name: String,
    /// Where the schema comes from, for the doc comment.
    pub origin: String,
    pub kind: TypeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
    Header,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub wire: String,
    pub rust: String,
    pub location: ParamIn,
    pub ty: Ty,
    pub required: bool,
}

#[derive(Clone, Debug)]
pub enum Body {
    None,
    /// Properties of an inline object, flattened into the request type.
    Fields(Vec<Field>),
    /// One value as the whole body (`body` field).
    Value(Ty),
    /// Raw bytes (`body` field), content type from the `Content-Type`
    /// header parameter.
    Bytes,
}

#[derive(Clone, Debug)]
pub enum Response {
    /// An inline object: a `…Response` struct.
    Fields(Vec<Field>, Option<Ty>),
    /// A named type used as is.
    Named(Ty),
    /// Anything else, wrapped in a transparent `…Response(pub T)`.
    Wrapped(Ty),
    /// No content declared.
    Empty,
    /// Media bytes (`crate::Media`).
    Media,
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub operation_id: String,
    /// The request type's name: `base_name`, unless that would shadow a
    /// prelude name (`sync` → `SyncRequest`).
    pub type_name: String,
    /// The operationId as a type name (`Sync`); `…Body` and `…Response`
    /// are named after it.
    pub base_name: String,
    pub method: String,
    pub path: String,
    pub auth: &'static str,
    pub rate_limited: bool,
    pub added_in: Option<String>,
    pub deprecated: bool,
    pub params: Vec<Param>,
    pub body: Body,
    pub body_required: bool,
    pub response: Response,
    pub response_content_types: Vec<String>,
    /// Whether a lost answer allows sending it again: every method but
    /// POST, and the POSTs of `ops::RESENDABLE_POSTS`.
    pub idempotent: bool,
    /// `timeout`-like query parameter holding the server-side wait (ms).
    pub server_wait_param: Option<String>,
}

#[derive(Default)]
pub struct Module {
    pub source: String,
    pub types: Vec<TypeDef>,
    pub ops: Vec<Operation>,
    names: HashSet<String>,
}

pub const DEFINITIONS: &str = "definitions";

/// Names of the std prelude (types, traits, derive macros) that a
/// generated public type must not take: a user's `use generated::sync::*`
/// would shadow them (`Sync`).
pub const STD_PRELUDE: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Send",
    "Sized",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Debug",
];

/// Names used unqualified in generated modules (std prelude and the
/// `prelude` the modules import).
const RESERVED_NAMES: &[&str] = &[
    "Result",
    "Option",
    "Some",
    "None",
    "Ok",
    "Err",
    "Vec",
    "String",
    "Box",
    "BTreeMap",
    "AuthRequirement",
    "BuildError",
    "DecodeError",
    "Endpoint",
    "HttpRequest",
    "IncomingResponse",
    "JsonObject",
    "Metadata",
    "Method",
    "QueryBuilder",
    "RequestBody",
    "ResponseParts",
];

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

/// Objects (by `title`) that keep keys their schema does not declare, in
/// a flattened `additional` map, and why. Other structs drop such keys.
pub const KEEPS_UNDECLARED_KEYS: &[(&str, &str)] = &[
    // Signed JSON: a signature covers every key, so verifying or
    // re-publishing one needs them all. One-time and fallback keys carry
    // `fallback: true`, which the schema only mentions in prose.
    ("KeyObject", "signed JSON"),
    ("DeviceKeys", "signed JSON"),
    (
        "DeviceInformation",
        "signed JSON (DeviceKeys and `unsigned`)",
    ),
    ("CrossSigningKey", "signed JSON"),
];

/// Joins the parts of a name derived from where a schema sits
/// (`GetPushRuleActions·Response·Actions·Item`), so their number can be
/// checked; it never reaches the output.
pub const SEP: char = '\u{b7}';

/// Parts a derived name may add to its root (an operation or a named
/// schema): `GetPushRuleActionsResponseActionsItem` adds three.
pub const MAX_NAME_PARTS: usize = 3;

/// Short names for derived names that nest deeper than
/// [`MAX_NAME_PARTS`]: (the long name, the name used). Empty while every
/// derived name is short enough; the generator names what to add.
pub const NAME_OVERRIDES: &[(&str, &str)] = &[];

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

/// Property names whose string values are credentials.
fn is_secret_property(name: &str) -> bool {
    matches!(
        name,
        "access_token"
            | "refresh_token"
            | "login_token"
            | "password"
            | "new_password"
            | "token"
            | "id_access_token"
            | "client_secret"
    )
}

/// Whether a hand-written type is one of the identifiers of [`id_type`].
pub fn is_identifier(name: &str) -> bool {
    matches!(
        name,
        "UserId" | "RoomId" | "EventId" | "RoomAliasId" | "ServerName" | "MxcUri"
    )
}

fn id_type(format: &str) -> Option<&'static str> {
    Some(match format {
        "mx-user-id" => "UserId",
        "mx-room-id" => "RoomId",
        "mx-event-id" => "EventId",
        "mx-room-alias" => "RoomAliasId",
        "mx-server-name" => "ServerName",
        "mx-mxc-uri" => "MxcUri",
        _ => return None,
    })
}

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

fn is_object_like(node: &Node) -> bool {
    node.str("type") == Some("object")
        || node.get("properties").is_some()
        || node.get("additionalProperties").is_some()
        || node.get("patternProperties").is_some()
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

    /// Reserves a type name in a module: `preferred` if free, else
    /// `fallback`, else `fallback` with a number.
    fn reserve(&mut self, module: &str, preferred: Option<String>, fallback: &str) -> String {
        let fallback = self.short_name(module, preferred.as_deref(), fallback);
        let fallback = fallback.as_str();
        let m = self.module_mut(module);
        let mut candidates = preferred.into_iter().chain([fallback.to_owned()]);
        let name = candidates
            .find(|c| !m.names.contains(c))
            .unwrap_or_else(|| {
                (2..)
                    .map(|i| format!("{fallback}{i}"))
                    .find(|c| !m.names.contains(c))
                    .unwrap_or_default()
            });
        m.names.insert(name.clone());
        name
    }

    /// A name derived from where a schema sits (`hint`, its parts joined
    /// by [`SEP`]), shortened: more than [`MAX_NAME_PARTS`] parts after
    /// the root need an entry in [`NAME_OVERRIDES`]; a missing one is an
    /// error of the generator run, so no such name is emitted unnoticed.
    fn short_name(&mut self, module: &str, preferred: Option<&str>, hint: &str) -> String {
        let plain = hint.replace(SEP, "");
        let free_title = preferred.is_some_and(|t| !self.module_mut(module).names.contains(t));
        if hint.matches(SEP).count() <= MAX_NAME_PARTS || free_title {
            return plain;
        }
        match NAME_OVERRIDES.iter().find(|(long, _)| *long == plain) {
            Some((_, short)) => (*short).to_owned(),
            None => {
                self.errors.push(format!(
                    "{module}::{plain} nests more than {MAX_NAME_PARTS} parts: give it a name in NAME_OVERRIDES (xtask/src/model.rs)"
                ));
                plain
            }
        }
    }

    /// The one `definitions` type for an inline enum of [`SHARED_ENUMS`],
    /// defined on first use.
    fn shared_enum_type(&mut self, name: &'static str, values: Vec<String>) -> Ty {
        let defined = self
            .module_mut(DEFINITIONS)
            .types
            .iter()
            .any(|d| d.name == name);
        if !defined {
            let reserved = self.reserve(DEFINITIONS, Some(name.to_owned()), name);
            if reserved != name {
                self.errors.push(format!(
                    "SHARED_ENUMS name {name} is taken in definitions: choose another"
                ));
            }
            self.add_type(
                DEFINITIONS,
                TypeDef {
                    name: name.to_owned(),
                    origin: "the inline string enums with these values (one type for all)".into(),
                    kind: TypeKind::StringEnum { values },
                },
            );
        }
        Ty::Named(DEFINITIONS.to_owned(), name.to_owned())
    }

    fn add_type(&mut self, module: &str, def: TypeDef) {
        self.module_mut(module).types.push(def);
    }

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

/// Inline string enums that the spec repeats operation by operation, by
/// their set of values, and the one shared type each becomes: a user
/// passes `Direction::Backward` to `/messages`, `/relations` and
/// `/timestamp_to_event` alike instead of a type per operation.
const SHARED_ENUMS: &[(&[&str], &str)] = &[
    (&["b", "f"], "Direction"),
    (
        &["content", "override", "room", "sender", "underride"],
        "PushRuleKind",
    ),
    (&["private", "public"], "RoomVisibility"),
    (&["no-support", "success"], "IdServerUnbindResult"),
    (&["email", "msisdn"], "Medium"),
    (&["crop", "scale"], "ThumbnailMethod"),
    (&["ban", "invite", "join", "knock", "leave"], "Membership"),
    (&["offline", "online", "unavailable"], "PresenceState"),
    (&["client", "federation"], "EventFormat"),
    (&["login", "register"], "SsoAction"),
];

fn shared_enum(values: &[String]) -> Option<&'static str> {
    let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    SHARED_ENUMS
        .iter()
        .find(|(set, _)| {
            let mut set = set.to_vec();
            set.sort_unstable();
            set == sorted
        })
        .map(|(_, name)| *name)
}

/// Whether a schema describes an event (it has `type`, `content` and
/// `sender`: client events with or without a room ID, stripped state).
/// Lists of events hold each item as `Lenient`: one malformed event must
/// not fail a sync batch or a page of messages.
fn is_event_schema(schema: &Node) -> bool {
    let props = schema.get("properties");
    ["type", "content", "sender"]
        .iter()
        .all(|k| props.is_some_and(|p| p.get(k).is_some()))
}

fn is_nameable(schema: &Node) -> bool {
    (schema.str("type") == Some("string") && schema.get("enum").is_some())
        || schema
            .get("properties")
            .is_some_and(|p| !p.entries().is_empty())
}

fn single_all_of_ref(node: &Node) -> Option<&str> {
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

pub fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `$ref`s are made absolute when files are loaded (see spec.rs).
fn parse_abs_ref(reference: &str) -> Result<Location, String> {
    let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    if file.is_empty() {
        return Err(format!("unresolved relative $ref {reference}"));
    }
    Ok(Location {
        file: file.into(),
        pointer: pointer.to_owned(),
    })
}
