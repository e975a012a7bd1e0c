//! The generated `mod.rs`: the module list, `OPERATIONS`, and the hooks
//! the generator's tests use to round-trip spec examples.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::{Body, Model, Response, Ty};
use crate::spec::SPEC_VERSION;

pub fn mod_source(model: &Model) -> String {
    let mut s = crate::emit::header("every file in data/api/client-server");
    s += "//! The Client-Server API, generated: one module per spec file.\n\n";
    s += "#![allow(deprecated)]\n\n";
    for name in model.modules.keys() {
        let _ = writeln!(s, "pub mod {name};");
    }
    s += "\npub(crate) mod prelude {\n    #[allow(unused_imports)]\n    pub(crate) use crate::{decode_json, encode_path_segment, json_query_text, AuthRequirement, BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse, JsonObject, Metadata, Method, QueryBuilder, RequestBody, ResponseParts, UiaEndpoint};\n}\n\n";
    let total: usize = model.modules.values().map(|m| m.ops.len()).sum();
    let _ = writeln!(s, "/// Every operation of the Client-Server API ({total} in {SPEC_VERSION}), by spec file.\npub static OPERATIONS: &[Metadata] = &[");
    for (name, module) in &model.modules {
        for op in &module.ops {
            let _ = writeln!(s, "    {name}::{}::METADATA,", op.type_name);
        }
    }
    s += "];\n\n";
    s += "use prelude::*;\n\n";
    // Spec examples: decode into the generated type and encode again.
    s += "/// Decodes a spec example for an operation's request body or success\n/// answer and encodes it again. For the generator's tests.\n#[cfg(feature = \"spec-examples\")]\n#[doc(hidden)]\npub fn roundtrip_example(operation_id: &str, request: bool, json: &str) -> Option<Result<serde_json::Value, String>> {\n";
    s += "use std::collections::BTreeMap;\nfn rt<T: serde::de::DeserializeOwned + serde::Serialize>(json: &str) -> Result<serde_json::Value, String> { let value: T = crate::strict_events(|| serde_json::from_str(json)).map_err(|e| e.to_string())?; serde_json::to_value(&value).map_err(|e| e.to_string()) }\n";
    s += "Some(match (operation_id, request) {\n";
    for (name, module) in &model.modules {
        for op in &module.ops {
            match &op.body {
                Body::Fields(_) => {
                    let _ = writeln!(
                        s,
                        "({:?}, true) => rt::<{name}::{}Body>(json),",
                        op.operation_id, op.base_name
                    );
                }
                Body::Value(ty) => {
                    let _ = writeln!(
                        s,
                        "({:?}, true) => rt::<{}>(json),",
                        op.operation_id,
                        qualify(ty)
                    );
                }
                _ => {}
            }
            match &op.response {
                Response::Fields(..) | Response::Wrapped(_) => {
                    let _ = writeln!(
                        s,
                        "({:?}, false) => rt::<{name}::{}Response>(json),",
                        op.operation_id, op.base_name
                    );
                }
                Response::Named(ty) => {
                    let _ = writeln!(
                        s,
                        "({:?}, false) => rt::<{}>(json),",
                        op.operation_id,
                        qualify(ty)
                    );
                }
                _ => {}
            }
        }
    }
    s += "_ => return None,\n})\n}\n\n";
    // Examples at any depth: decode into the type they are an example of.
    let types: BTreeSet<&str> = model.examples.iter().map(|e| e.ty.as_str()).collect();
    s += "/// Decodes a spec example into the Rust type named as in this module\n/// (`keys::DeviceInformation`, `Vec<crate::UserId>`, …) and encodes it\n/// again. For the generator's tests.\n#[cfg(feature = \"spec-examples\")]\n#[doc(hidden)]\npub fn roundtrip_type(ty: &str, json: &str) -> Option<Result<serde_json::Value, String>> {\n";
    s += "use std::collections::BTreeMap;\nfn rt<T: serde::de::DeserializeOwned + serde::Serialize>(json: &str) -> Result<serde_json::Value, String> { let value: T = crate::strict_events(|| serde_json::from_str(json)).map_err(|e| e.to_string())?; serde_json::to_value(&value).map_err(|e| e.to_string()) }\n";
    s += "Some(match ty {\n";
    for ty in types {
        let _ = writeln!(s, "{ty:?} => rt::<{ty}>(json),");
    }
    s += "_ => return None,\n})\n}\n";
    s
}

/// A type as written in `generated/mod.rs`.
fn qualify(ty: &Ty) -> String {
    ty.qualified()
}
