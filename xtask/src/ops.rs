//! Operations: every method of every path in the client-server files.

use crate::model::{file_stem, Body, Model, Operation, Param, ParamIn, Response, Ty};
use crate::names::{module, operation_type, pascal, snake};
use crate::spec::{Location, Spec};
use crate::yaml::Node;

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
    Ok(model)
}

/// Follows a `$ref` to a component (parameter, request body, response).
fn deref(spec: &mut Spec, node: &Node) -> Result<Node, String> {
    match node.str("$ref") {
        Some(reference) => {
            let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            let target = spec.node(&Location {
                file: file.into(),
                pointer: pointer.into(),
            })?;
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
        let hint = format!("{type_name}{}", pascal(&wire));
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
                if schema.get("$ref").is_some() {
                    Body::Value(model.ty(
                        spec,
                        module_name,
                        &schema,
                        &format!("{type_name}Body"),
                    )?)
                } else {
                    let (eff, _) = model.effective(spec, &schema)?;
                    if eff
                        .get("properties")
                        .is_some_and(|p| !p.entries().is_empty())
                    {
                        let (mut fields, _) = model.fields(spec, module_name, &eff, &type_name)?;
                        // A body property may share its name with a
                        // parameter (putRoomKeysVersion: `version`).
                        for field in &mut fields {
                            if params.iter().any(|p| p.rust == field.rust) {
                                field.rust = format!("body_{}", field.rust);
                            }
                        }
                        Body::Fields(fields)
                    } else {
                        Body::Value(model.ty(
                            spec,
                            module_name,
                            &eff,
                            &format!("{type_name}Body"),
                        )?)
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
                            let hint = format!("{type_name}Response");
                            if schema.get("$ref").is_some() {
                                match model.ty(spec, module_name, &schema, &hint)? {
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
                                    Response::Fields(fields, additional)
                                } else {
                                    Response::Wrapped(model.ty(
                                        spec,
                                        module_name,
                                        &eff,
                                        &format!("{hint}Body"),
                                    )?)
                                }
                            }
                        }
                    };
                    (response, types)
                }
            }
        }
    };

    Ok(Operation {
        type_name,
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
