//! `quotient server`

use serde_json::{json, Value};

use crate::cli::ServerArgs;
use crate::exit::Failure;
use crate::store::Store;
use crate::terminal::Output;
use crate::{connect, parse_homeserver};

/// Unstable features this client acts on.
const RELEVANT_UNSTABLE: &[&str] = &["org.matrix.msc3882"];

pub async fn run(store: &Store, out: &Output, args: ServerArgs) -> Result<(), Failure> {
    let (conn, signed_in) = match &args.homeserver {
        Some(url) => {
            let url = parse_homeserver(url)?;
            match store.connection() {
                Ok((conn, session)) if session.homeserver == url => (conn, true),
                _ => (connect(url)?, false),
            }
        }
        None => match store.connection() {
            Ok((conn, _)) => (conn, true),
            Err(_) => return Err(Failure::usage("pass --homeserver URL, or sign in first")),
        },
    };
    let spin = out.spinner("asking the server");
    let versions = conn
        .versions()
        .await
        .map_err(|e| Failure::from_error("cannot read /versions", &e))?;
    let flows = conn
        .login_flows()
        .await
        .map_err(|e| Failure::from_error("cannot read the login flows", &e))?;
    let capabilities = if signed_in {
        let caps = conn
            .capabilities()
            .await
            .map_err(|e| Failure::from_error("cannot read the capabilities", &e))?;
        Some(serde_json::to_value(&*caps).unwrap_or(Value::Null))
    } else {
        None
    };
    drop(spin);
    let unstable: serde_json::Map<String, Value> = RELEVANT_UNSTABLE
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                Value::Bool(versions.unstable_feature(name)),
            )
        })
        .collect();
    let flows_json: Vec<Value> = flows
        .flows
        .iter()
        .map(|f| {
            let mut v = json!({"type": f.kind});
            if f.kind == "m.login.token" {
                v["get_login_token"] = json!(f.get_login_token);
            }
            if !f.identity_providers.is_empty() {
                v["identity_providers"] = f
                    .identity_providers
                    .iter()
                    .map(|p| json!({"id": p.id, "name": p.name}))
                    .collect();
            }
            v
        })
        .collect();
    out.print(
        json!({
            "homeserver": conn.homeserver().as_str(),
            "versions": versions.versions(),
            "unstable_features": unstable,
            "login_flows": flows_json,
            "capabilities": capabilities,
        }),
        || {
            let mut text = format!("Homeserver {}\n", conn.homeserver());
            text.push_str(&format!(
                "Spec versions: {}\n",
                versions.versions().join(", ")
            ));
            text.push_str(&format!(
                "Login tokens: {}\n",
                if versions.supports("v1.7") {
                    "stable endpoint (v1.7+)"
                } else if versions.unstable_feature("org.matrix.msc3882") {
                    "unstable MSC3882 endpoint"
                } else {
                    "not supported"
                }
            ));
            text += "Login flows:\n";
            for f in &flows.flows {
                text.push_str(&format!("  {}", f.kind));
                if f.kind == "m.login.token" {
                    text.push_str(&format!(" (get_login_token: {})", f.get_login_token));
                }
                for p in &f.identity_providers {
                    text.push_str(&format!("\n    provider {} ({})", p.name, p.id));
                }
                text.push('\n');
            }
            match &capabilities {
                Some(Value::Object(caps)) => {
                    text += "Capabilities:\n";
                    for (name, value) in caps {
                        text.push_str(&format!("  {name}: {value}\n"));
                    }
                }
                _ => text += "Capabilities: sign in to see them\n",
            }
            text.trim_end().to_owned()
        },
    );
    Ok(())
}
