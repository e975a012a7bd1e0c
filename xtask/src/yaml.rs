//! YAML as an ordered tree that keeps every scalar key as written.
//!
//! `x-changedInMatrixVersion` has unquoted keys such as `1.10`, which a
//! float-typed reader would turn into `1.1`; keys here are their original
//! text, and maps keep the file's order so output follows the spec.

use yaml_rust2::{Yaml, YamlLoader};

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// A float, as written.
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self, Node::Map(_))
    }

    /// The node as JSON (for examples).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => f
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Node::Str(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn key_text(key: &Yaml) -> String {
    match key {
        Yaml::Real(s) | Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => "null".into(),
        other => format!("{other:?}"),
    }
}

fn convert(yaml: &Yaml) -> Node {
    match yaml {
        Yaml::Real(s) => Node::Float(s.clone()),
        Yaml::Integer(i) => Node::Int(*i),
        Yaml::String(s) => Node::Str(s.clone()),
        Yaml::Boolean(b) => Node::Bool(*b),
        Yaml::Array(items) => Node::Seq(items.iter().map(convert).collect()),
        Yaml::Hash(map) => Node::Map(map.iter().map(|(k, v)| (key_text(k), convert(v))).collect()),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Node::Null,
    }
}

/// Quirk: some spec examples close a multi-line flow mapping with a `}`
/// at the column of its key (`example: {` … `}`), which strict YAML 1.2
/// scanners reject as under-indented (PyYAML, used by the spec's own
/// tooling, accepts it). Inside a flow collection indentation carries no
/// meaning, so a line holding only closing brackets is indented by two
/// more spaces. In block scalars (descriptions) that changes prose the
/// generator never uses.
fn indent_lone_closers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let trimmed = line.trim_start();
        if !trimmed.is_empty()
            && trimmed
                .trim_end()
                .chars()
                .all(|c| matches!(c, '}' | ']' | ','))
        {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn parse(text: &str) -> Result<Node, String> {
    let docs = YamlLoader::load_from_str(&indent_lone_closers(text)).map_err(|e| e.to_string())?;
    Ok(docs.first().map(convert).unwrap_or(Node::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_float_keys_keep_their_text() {
        let node = parse("x-changedInMatrixVersion:\n  1.10: a\n  \"1.8\": b\n").unwrap();
        let keys: Vec<&str> = node
            .get("x-changedInMatrixVersion")
            .unwrap()
            .entries()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["1.10", "1.8"]);
    }
}
