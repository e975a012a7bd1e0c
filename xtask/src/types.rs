//! The model's data: Rust types, fields, operations and modules as the
//! generator sees them before emitting text.

use std::collections::HashSet;

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
    pub(crate) fn json_kind(&self) -> Option<&'static str> {
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
    /// Whether a redirect answer is followed (`Metadata::follows_redirects`).
    pub follows_redirects: bool,
    /// `timeout`-like query parameter holding the server-side wait (ms).
    pub server_wait_param: Option<String>,
}

#[derive(Default)]
pub struct Module {
    pub source: String,
    pub types: Vec<TypeDef>,
    pub ops: Vec<Operation>,
    pub(crate) names: HashSet<String>,
}
