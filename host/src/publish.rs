//! The client side of `sluice bundle publish`: uploads a package's plugin components and
//! the package itself to a running gateway's admin API.

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::bundle::package::{self, Components, Package};

/// Uploads every component of `package`, then the package; activates it when `activate`.
/// Prints what happened.
pub async fn publish(
    url: &str,
    package: Package,
    components: &Components,
    activate: bool,
    token: &str,
) -> Result<()> {
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let authed = |req: reqwest::RequestBuilder| req.bearer_auth(token);
    let manifest = package.manifest()?;
    let worlds = package::claimed_worlds(&package)?;
    for (name, digest) in &package.plugins {
        let bytes = components
            .get(digest)
            .with_context(|| format!("no component for plugin {name}"))?;
        let world = worlds
            .get(name)
            .with_context(|| format!("plugin {name} is not in [plugins]"))?;
        let req = client
            .post(format!("{base}/v1/admin/plugins"))
            .query(&[
                ("name", name.as_str()),
                ("version", manifest.version.as_str()),
                ("world", &world.to_string()),
            ])
            .header("content-type", "application/wasm")
            .body(bytes.to_vec());
        let (status, body) = send(authed(req)).await?;
        match status {
            201 => println!("uploaded plugin {name} ({digest})"),
            200 => println!("plugin {name} already registered ({digest})"),
            _ => bail!("uploading plugin {name}: {status}: {}", describe(&body)),
        }
    }
    let req = client
        .post(format!("{base}/v1/admin/bundles"))
        .query(&[("activate", if activate { "true" } else { "false" })])
        .json(&package);
    let (status, body) = send(authed(req)).await?;
    if !matches!(status, 200 | 201) {
        bail!("publishing the bundle: {status}: {}", describe(&body));
    }
    println!(
        "published {} ({}){}",
        body["id"].as_str().unwrap_or_default(),
        body["digest"].as_str().unwrap_or_default(),
        if status == 200 {
            ", already registered"
        } else {
            ""
        }
    );
    if activate {
        let a = &body["activation"];
        println!(
            "active: {} (was {}; {} policy test cases passed; {} ms)",
            a["active"].as_str().unwrap_or_default(),
            a["previous"].as_str().unwrap_or_default(),
            a["cases_passed"],
            a["took_ms"]
        );
    }
    Ok(())
}

async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Value)> {
    let resp = req.send().await.context("reaching the gateway")?;
    let status = resp.status().as_u16();
    let text = resp.text().await.context("reading the gateway's answer")?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

fn describe(body: &Value) -> String {
    let mut out = body["error"]
        .as_str()
        .map_or_else(|| body.to_string(), str::to_string);
    if let Some(details) = body["details"].as_array() {
        for d in details {
            out.push_str(&format!("\n  - {}", d.as_str().unwrap_or_default()));
        }
    }
    out
}
