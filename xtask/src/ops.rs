//! Operations: every method of every path in the client-server files.

use crate::model::{
    examples_in, Body, ExampleUse, Kept, Model, Operation, Param, ParamIn, Response, Ty, SEP,
};
use crate::names::{module, operation_type, pascal, snake};
use crate::spec::{file_stem, Spec};
use crate::yaml::Node;

/// POSTs that are safe to send again when their answer was lost, and why.
/// Every other POST is treated as a write that must not be repeated (the
/// engine reports its outcome as unknown instead of resending it).
pub const RESENDABLE_POSTS: &[(&str, &str)] = &[
    // Read-only queries that use POST only to carry a body.
    ("queryKeys", "reads device keys"),
    ("search", "reads events"),
    ("searchUserDirectory", "reads the user directory"),
    ("queryPublicRooms", "reads the room directory"),
    // Set a marker to the value in the request: twice has the effect of once.
    ("setReadMarker", "sets read markers to the given events"),
    ("postReceipt", "sets a receipt to the given event"),
];

pub fn build(spec: &mut Spec) -> Result<Model, String> {
    let mut model = Model::default();
    for file in spec.api_files()? {
        let module_name = module(&file_stem(&file));
        let root = spec.file(&file)?.clone();
        model.module_mut(&module_name).source = file.display().to_string();
        let base_path = root
            .get("servers")
            .and_then(|s| s.items().first())
            .and_then(|s| s.get("variables"))
            .and_then(|v| v.get("basePath"))
            .and_then(|b| b.str("default"))
            .ok_or_else(|| {
                format!(
                    "{}: no servers[0].variables.basePath.default",
                    file.display()
                )
            })?
            .to_owned();
        let Some(paths) = root.get("paths") else {
            continue;
        };
        for (path_key, methods) in paths.entries() {
            // Quirk: two path keys end in a space on purpose, so that the
            // same path can appear twice in the spec's rendering
            // ("/rooms/{roomId}/invite " and "/events "). Trim it.
            let path = format!("{base_path}{}", path_key.trim_end());
            for (method, op) in methods.entries() {
                if !matches!(method.as_str(), "get" | "put" | "post" | "delete") {
                    continue;
                }
                let op = operation(spec, &mut model, &module_name, &path, method, op)
                    .map_err(|e| format!("{} {method} {path}: {e}", file.display()))?;
                model.module_mut(&module_name).ops.push(op);
            }
        }
    }
    for (id, _) in RESENDABLE_POSTS {
        let found = model
            .modules
            .values()
            .flat_map(|m| &m.ops)
            .any(|op| op.operation_id == *id && op.method == "post");
        if !found {
            return Err(format!(
                "RESENDABLE_POSTS names {id}, which is not a POST operation"
            ));
        }
    }
    Ok(model)
}

/// Follows a `$ref` to a component (parameter, request body, response).
fn deref(spec: &mut Spec, node: &Node) -> Result<Node, String> {
    match node.str("$ref") {
        Some(reference) => {
            let target = spec.follow(reference)?;
            deref(spec, &target)
        }
        None => Ok(node.clone()),
    }
}

fn auth(op: &Node) -> &'static str {
    let Some(security) = op.get("security") else {
        return "None";
    };
    let schemes: Vec<&str> = security
        .items()
        .iter()
        .flat_map(|entry| entry.entries().iter().map(|(k, _)| k.as_str()))
        .collect();
    let first_is_empty = security
        .items()
        .first()
        .is_some_and(|e| e.entries().is_empty());
    // Quirk: getRoomSummary names `signedRequest`, a scheme no file
    // defines (a federation-style signature). Clients treat it as optional
    // bearer auth, like an operation whose first entry is `{}`.
    if first_is_empty || schemes.contains(&"signedRequest") {
        "Optional"
    } else {
        // In v1.19 authenticated operations also list the deprecated
        // `accessTokenQuery`; the token always goes in the header.
        "Required"
    }
}

fn version_text(node: Option<&Node>) -> Option<String> {
    match node? {
        Node::Str(s) | Node::Float(s) => Some(s.clone()),
        Node::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn operation(
    spec: &mut Spec,
    model: &mut Model,
    module_name: &str,
    path: &str,
    method: &str,
    op: &Node,
) -> Result<Operation, String> {
    let operation_id = op.str("operationId").ok_or("no operationId")?.to_owned();
    let type_name = operation_type(&operation_id);
    let mut params = Vec::new();
    let mut server_wait_param = None;
    for param in op.get("parameters").map(Node::items).unwrap_or_default() {
        let param = deref(spec, param)?;
        let wire = param
            .str("name")
            .ok_or("parameter without a name")?
            .to_owned();
        let location = match param.str("in") {
            Some("path") => ParamIn::Path,
            Some("query") => ParamIn::Query,
            Some("header") => ParamIn::Header,
            other => return Err(format!("parameter {wire} in {other:?}")),
        };
        let schema = param.get("schema").cloned().unwrap_or(Node::Map(vec![]));
        let hint = format!("{type_name}{SEP}{}", pascal(&wire));
        let mut ty = model.ty(spec, module_name, &schema, &hint)?;
        if ty == Ty::String && matches!(wire.as_str(), "token" | "access_token") {
            ty = Ty::Secret;
        }
        if location == ParamIn::Query
            && matches!(wire.as_str(), "timeout" | "timeout_ms")
            && ty == Ty::Int
        {
            server_wait_param = Some(snake(&wire));
        }
        record_examples(
            model,
            &format!("{type_name} parameter `{wire}`"),
            &param,
            &ty,
        );
        let required = location == ParamIn::Path
            || param
                .get("required")
                .and_then(Node::as_bool)
                .unwrap_or(false);
        params.push(Param {
            rust: snake(&wire),
            wire,
            location,
            ty,
            required,
        });
    }

    // Quirk: DELETE /devices/{deviceId} takes a JSON body (UIA `auth`);
    // bodies are read for every method, not only POST and PUT.
    let (body, body_required) = match op.get("requestBody") {
        None => (Body::None, false),
        Some(rb) => {
            let rb = deref(spec, rb)?;
            let required = rb.get("required").and_then(Node::as_bool).unwrap_or(false);
            let content = rb.get("content").ok_or("requestBody without content")?;
            let body = if let Some(json) = content.get("application/json") {
                let schema = json.get("schema").cloned().unwrap_or(Node::Map(vec![]));
                let place = format!("{type_name} request body");
                let body_type = format!("{module_name}::{type_name}Body");
                if schema.get("$ref").is_some() {
                    let ty =
                        model.ty(spec, module_name, &schema, &format!("{type_name}{SEP}Body"))?;
                    record_examples(model, &place, json, &ty);
                    Body::Value(ty)
                } else {
                    let (eff, _) = model.effective(spec, &schema)?;
                    if eff
                        .get("properties")
                        .is_some_and(|p| !p.entries().is_empty())
                    {
                        let (mut fields, _) = model.fields(spec, module_name, &eff, &type_name)?;
                        let names = fields.iter().map(|f| f.wire.clone()).collect();
                        model.record(&place, &schema, Kept::Fields(names), None);
                        for example in examples_in(&eff).into_iter().chain(examples_in(json)) {
                            model.examples.push(ExampleUse {
                                place: place.clone(),
                                example,
                                ty: body_type.clone(),
                            });
                        }
                        // A body property may share its name with a
                        // parameter (putRoomKeysVersion: `version`).
                        for field in &mut fields {
                            if params.iter().any(|p| p.rust == field.rust) {
                                field.rust = format!("body_{}", field.rust);
                            }
                        }
                        Body::Fields(fields)
                    } else {
                        let ty =
                            model.ty(spec, module_name, &eff, &format!("{type_name}{SEP}Body"))?;
                        record_examples(model, &place, json, &ty);
                        Body::Value(ty)
                    }
                }
            } else {
                Body::Bytes
            };
            (body, required)
        }
    };

    let responses = op.get("responses").ok_or("no responses")?;
    let rate_limited = responses.get("429").is_some();
    let follows_redirects = (responses
        .entries()
        .iter()
        .any(|(code, _)| code.starts_with('3'))
        && !crate::rules::BROWSER_REDIRECTS.contains(&operation_id.as_str()))
        || crate::rules::FOLLOWED_WITHOUT_3XX.contains(&operation_id.as_str());
    // Error answers are read by the hand-written `ErrorBody`; their
    // examples are checked against it.
    for (code, response) in responses.entries() {
        if code.starts_with('2') {
            continue;
        }
        let response = deref(spec, response)?;
        if let Some(json) = response
            .get("content")
            .and_then(|c| c.get("application/json"))
        {
            let schema = json.get("schema").cloned().unwrap_or(Node::Map(vec![]));
            let (eff, _) = model.effective(spec, &schema)?;
            let place = format!("{type_name} {code} answer");
            for example in examples_in(&eff).into_iter().chain(examples_in(json)) {
                model.examples.push(ExampleUse {
                    place: place.clone(),
                    example,
                    ty: "crate::ErrorBody".into(),
                });
            }
        }
    }
    // Only the success answer is typed: errors (including the UIA 401,
    // whose body carries `errcode`/`error` next to `flows`) are read by the
    // runtime into `ErrorBody` / `UiaChallenge`.
    let success = responses
        .entries()
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .map(|(_, r)| r.clone())
        .next();
    let (response, response_content_types) = match success {
        None => (Response::Empty, vec![]),
        Some(r) => {
            let r = deref(spec, &r)?;
            match r.get("content") {
                None => (Response::Empty, vec![]),
                Some(content) => {
                    let types: Vec<String> =
                        content.entries().iter().map(|(k, _)| k.clone()).collect();
                    let response = match content.get("application/json") {
                        None => Response::Media,
                        Some(json) => {
                            let schema = json.get("schema").cloned().unwrap_or(Node::Map(vec![]));
                            let hint = format!("{type_name}{SEP}Response");
                            let place = format!("{type_name} answer");
                            if schema.get("$ref").is_some() {
                                let ty = model.ty(spec, module_name, &schema, &hint)?;
                                record_examples(model, &place, json, &ty);
                                match ty {
                                    ty @ Ty::Named(..) => Response::Named(ty),
                                    ty => Response::Wrapped(ty),
                                }
                            } else {
                                let (eff, _) = model.effective(spec, &schema)?;
                                if eff
                                    .get("properties")
                                    .is_some_and(|p| !p.entries().is_empty())
                                {
                                    let (fields, additional) =
                                        model.fields(spec, module_name, &eff, &hint)?;
                                    let names = fields.iter().map(|f| f.wire.clone()).collect();
                                    model.record(&place, &schema, Kept::Fields(names), None);
                                    let ty = format!("{module_name}::{}", hint.replace(SEP, ""));
                                    for example in
                                        examples_in(&eff).into_iter().chain(examples_in(json))
                                    {
                                        model.examples.push(ExampleUse {
                                            place: place.clone(),
                                            example,
                                            ty: ty.clone(),
                                        });
                                    }
                                    Response::Fields(fields, additional)
                                } else {
                                    let ty = model.ty(
                                        spec,
                                        module_name,
                                        &eff,
                                        &format!("{hint}{SEP}Body"),
                                    )?;
                                    // The answer's own type wraps this one.
                                    record_examples(model, &place, json, &ty);
                                    Response::Wrapped(ty)
                                }
                            }
                        }
                    };
                    (response, types)
                }
            }
        }
    };

    let request_name = if crate::model::STD_PRELUDE.contains(&type_name.as_str()) {
        format!("{type_name}Request")
    } else {
        type_name.clone()
    };
    let idempotent = method != "post" || RESENDABLE_POSTS.iter().any(|(id, _)| *id == operation_id);
    Ok(Operation {
        idempotent,
        follows_redirects,
        type_name: request_name,
        base_name: type_name,
        method: method.to_owned(),
        path: path.to_owned(),
        auth: auth(op),
        rate_limited,
        added_in: version_text(op.get("x-addedInMatrixVersion")),
        deprecated: op
            .get("deprecated")
            .and_then(Node::as_bool)
            .unwrap_or(false),
        params,
        body,
        body_required,
        response,
        response_content_types,
        server_wait_param,
        operation_id,
    })
}

/// Records the examples a parameter or media type carries next to its
/// schema, as examples of `ty`.
fn record_examples(model: &mut Model, place: &str, node: &Node, ty: &Ty) {
    for example in examples_in(node) {
        model.examples.push(ExampleUse {
            place: place.to_owned(),
            example,
            ty: ty.qualified(),
        });
    }
}
