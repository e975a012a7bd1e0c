//! The `build()` method of a generated request: path parameters encoded
//! one segment each, query parameters in spec order, headers, and the body.

use std::fmt::Write as _;

use crate::model::{Body, Operation, ParamIn, Ty};

/// Writes `fn build(&self) -> Result<HttpRequest, BuildError>` for `op`,
/// whose method is `method` (`Get`, `Put`, …).
pub(crate) fn build_fn(s: &mut String, op: &Operation, method: &str) {
    s.push_str("fn build(&self) -> Result<HttpRequest, BuildError> {\n");
    // Path: each `{name}` becomes one percent-encoded segment.
    let mut template = String::new();
    let mut args = Vec::new();
    let mut rest = op.path.as_str();
    while let Some(open) = rest.find('{') {
        template.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let wire = &rest[open + 1..close];
        let param = op
            .params
            .iter()
            .find(|p| p.wire == wire && p.location == ParamIn::Path);
        let expr = match param {
            Some(p) => match p.ty {
                Ty::String => format!("encode_path_segment(&self.{})", p.rust),
                Ty::Int | Ty::Float | Ty::Bool => {
                    format!("encode_path_segment(&self.{}.to_string())", p.rust)
                }
                _ => format!("encode_path_segment(self.{}.as_str())", p.rust),
            },
            None => format!("encode_path_segment({wire:?})"),
        };
        template.push_str("{}");
        args.push(expr);
        rest = &rest[(close + 1).min(rest.len())..];
    }
    template.push_str(rest);
    let query_params: Vec<_> = op
        .params
        .iter()
        .filter(|p| p.location == ParamIn::Query)
        .collect();
    let binding = if query_params.is_empty() {
        "let"
    } else {
        "let mut"
    };
    if args.is_empty() {
        let _ = writeln!(s, "{binding} path_and_query = String::from({template:?});");
    } else {
        let _ = writeln!(
            s,
            "{binding} path_and_query = format!({template:?}, {});",
            args.join(", ")
        );
    }
    if !query_params.is_empty() {
        s.push_str("let mut query = QueryBuilder::new();\n");
        for p in query_params {
            match (&p.ty, p.required) {
                (Ty::Vec(_), true) => {
                    let _ = writeln!(s, "query.push_all({:?}, &self.{});", p.wire, p.rust);
                }
                (Ty::Vec(_), false) => {
                    let _ = writeln!(
                        s,
                        "if let Some(values) = &self.{} {{ query.push_all({:?}, values); }}",
                        p.rust, p.wire
                    );
                }
                (Ty::Map(..), true) => {
                    let _ = writeln!(
                        s,
                        "for (key, value) in &self.{} {{ query.push(key, value); }}",
                        p.rust
                    );
                }
                (Ty::Map(..), false) => {
                    let _ = writeln!(s, "for (key, value) in self.{}.iter().flatten() {{ query.push(key, value); }}", p.rust);
                }
                (Ty::JsonObject | Ty::Json, _) => {
                    let _ = writeln!(s, "for (key, value) in self.{}.iter().flat_map(|v| v.as_object()).flatten() {{ query.push(key, &json_query_text(value)); }}", p.rust);
                }
                (_, true) => {
                    let _ = writeln!(s, "query.push({:?}, &self.{});", p.wire, p.rust);
                }
                (_, false) => {
                    let _ = writeln!(s, "query.push_opt({:?}, self.{}.as_ref());", p.wire, p.rust);
                }
            }
        }
        s.push_str("path_and_query.push_str(&query.finish());\n");
    }
    let content_type_param = op
        .params
        .iter()
        .find(|p| p.location == ParamIn::Header && p.wire.eq_ignore_ascii_case("content-type"));
    s.push_str("#[allow(unused_mut)]\nlet mut headers: Vec<(String, String)> = Vec::new();\n");
    for p in op.params.iter().filter(|p| p.location == ParamIn::Header) {
        // A media upload's Content-Type travels with its body.
        if matches!(op.body, Body::Bytes) && p.wire.eq_ignore_ascii_case("content-type") {
            continue;
        }
        if p.required {
            let _ = writeln!(
                s,
                "headers.push(({:?}.into(), self.{}.to_string()));",
                p.wire, p.rust
            );
        } else {
            let _ = writeln!(s, "if let Some(value) = &self.{} {{ headers.push(({:?}.into(), value.to_string())); }}", p.rust, p.wire);
        }
    }
    let body_expr = match &op.body {
        Body::None => "RequestBody::Empty".to_owned(),
        Body::Fields(fields) => {
            let inits: Vec<String> = fields
                .iter()
                .map(|f| match f.ty {
                    Ty::Bool | Ty::Int | Ty::Float => format!("{0}: self.{0}", f.rust),
                    _ => format!("{0}: self.{0}.clone()", f.rust),
                })
                .collect();
            format!(
                "RequestBody::json(&{}Body {{ {} }})?",
                op.base_name,
                inits.join(", ")
            )
        }
        Body::Value(_) => "RequestBody::json(&self.body)?".to_owned(),
        Body::Bytes => {
            let ct = match content_type_param {
                Some(p) if p.required => format!("self.{}.clone()", p.rust),
                Some(p) => format!(
                    "self.{}.clone().unwrap_or_else(|| \"application/octet-stream\".into())",
                    p.rust
                ),
                None => "\"application/octet-stream\".into()".into(),
            };
            format!("RequestBody::Bytes {{ content_type: {ct}, data: self.body.clone() }}")
        }
    };
    // A parameter of `.` or `..` would silently change the URL
    // (`Metadata::check_path`): refuse it while building.
    if op.params.iter().any(|p| p.location == ParamIn::Path) {
        s.push_str("Self::METADATA.check_path(&path_and_query)?;\n");
    }
    let _ = writeln!(s, "let body = {body_expr};");
    let _ = writeln!(
        s,
        "Ok(HttpRequest {{ method: Method::{method}, path_and_query, headers, body }})\n}}"
    );
}
