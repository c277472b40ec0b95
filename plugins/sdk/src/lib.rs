//! Guest SDK for Sluice policy plugins.
//!
//! Generates the bindings of every world of `wit/policy.wit` once, sharing one set of
//! `types`, and offers the small helpers every plugin needs (config parsing, once per
//! instance, and checking, timestamps, JSON Pointers), the subprocessor [`register`] that
//! disclosure and forwarder plugins are given, the [`delivery`] of forwarder plugins and
//! the export of one, a [`view`] of record leaves for rules kept apart from the bindings,
//! and helpers for plugins' native unit tests ([`testing`]). A plugin is a `cdylib` that
//! implements the world's traits and exports them once ([`export_plugin!`]):
//!
//! ```ignore
//! use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
//! struct Plugin;
//! impl redact::Guest for Plugin { /* check_config, redact */ }
//! sluice_plugin_sdk::export_plugin!(redaction: Plugin);
//! ```

/// Bindings of the `admission` world. Its `types` are the ones every world shares.
pub mod admission {
    wit_bindgen::generate!({
        world: "admission",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_admission",
        default_bindings_module: "sluice_plugin_sdk::admission",
    });
}

/// Bindings of the `redaction` world.
pub mod redaction {
    wit_bindgen::generate!({
        world: "redaction",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_redaction",
        default_bindings_module: "sluice_plugin_sdk::redaction",
        with: { "sluice:policy/types@0.1.0": crate::types },
    });
}

/// Bindings of the `retention` world.
pub mod retention {
    wit_bindgen::generate!({
        world: "retention",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_retention",
        default_bindings_module: "sluice_plugin_sdk::retention",
        with: { "sluice:policy/types@0.1.0": crate::types },
    });
}

/// Bindings of the `disclosure` world.
pub mod disclosure {
    wit_bindgen::generate!({
        world: "disclosure",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_disclosure",
        default_bindings_module: "sluice_plugin_sdk::disclosure",
        with: { "sluice:policy/types@0.1.0": crate::types },
    });
}

/// Bindings of the `forwarder` world.
pub mod forwarder {
    wit_bindgen::generate!({
        world: "forwarder",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_forwarder",
        default_bindings_module: "sluice_plugin_sdk::forwarder",
        with: { "sluice:policy/types@0.1.0": crate::types },
    });
}

/// The types shared by every world (`sluice:policy/types`).
pub use admission::sluice::policy::types;

impl admission::exports::sluice::policy::admit::Rejection {
    /// The rejection of an admission plugin `plugin` that cannot use its configuration
    /// (`problem`): it cites `clause` (the plugin's default, as the configured one is not
    /// known), names no field and erases nothing.
    pub fn misconfigured(
        plugin: &str,
        clause: impl Into<String>,
        problem: impl std::fmt::Display,
    ) -> Self {
        Self {
            clause: clause.into(),
            reason: format!("the {plugin} plugin is misconfigured: {problem}"),
            path: None,
            erase: false,
        }
    }
}

pub mod delivery;
pub mod pointer;
pub mod register;
pub mod testing;
pub mod view;

use serde::de::DeserializeOwned;

/// Parses a plugin's configuration (JSON text from `context.config`).
pub fn parse_config<T: DeserializeOwned>(config: &str) -> Result<T, String> {
    serde_json::from_str(config).map_err(|e| format!("invalid configuration: {e}"))
}

/// `build(config)`, computed once per instance for a given configuration.
///
/// The host gives an instance to one request, and the records of a batch share it; what a
/// plugin derives from its configuration (a parsed `Config`, an index over a vocabulary)
/// is worth keeping from one record of the batch to the next. A different configuration
/// (the same plugin configured differently for another kind) replaces the kept value.
pub fn per_instance<T: 'static>(
    config: &str,
    build: impl FnOnce(&str) -> Result<T, String>,
) -> Result<std::rc::Rc<T>, String> {
    use std::any::Any;
    use std::cell::RefCell;
    use std::rc::Rc;
    thread_local! {
        static KEPT: RefCell<Option<(String, Rc<dyn Any>)>> = const { RefCell::new(None) };
    }
    let hit = KEPT.with_borrow(|kept| match kept {
        Some((key, value)) if key == config => value.clone().downcast::<T>().ok(),
        _ => None,
    });
    if let Some(value) = hit {
        return Ok(value);
    }
    let value = Rc::new(build(config)?);
    KEPT.with_borrow_mut(|kept| *kept = Some((config.to_owned(), value.clone() as Rc<dyn Any>)));
    Ok(value)
}

/// The plugin's configuration `T`, parsed once per instance ([`per_instance`]).
pub fn config<T: DeserializeOwned + 'static>(config: &str) -> Result<std::rc::Rc<T>, String> {
    derived_config(config, |cfg: T| cfg)
}

/// What `derive` makes of the plugin's configuration `T` (the configuration with an index
/// over it, say), parsed and derived once per instance ([`per_instance`]).
pub fn derived_config<T: DeserializeOwned, U: 'static>(
    config: &str,
    derive: impl FnOnce(T) -> U,
) -> Result<std::rc::Rc<U>, String> {
    per_instance(config, |config| parse_config(config).map(derive))
}

/// Adds to `problems` that the configuration key `key` must not be empty, when `value` is
/// blank.
pub fn require_text(problems: &mut Vec<String>, key: &str, value: &str) {
    if value.trim().is_empty() {
        problems.push(format!("`{key}` must not be empty"));
    }
}

/// `Ok` when a configuration has no `problems`, else an error that lists them all: for
/// rules that check the configuration they are given again.
pub fn without_problems(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid configuration: {}", problems.join("; ")))
    }
}

/// A plugin's `check-config`: parses `config` and lists its `problems`, one line each.
/// A configuration that does not parse is one problem; one with no problems is `Ok`.
///
/// ```ignore
/// fn check_config(config: String) -> Result<(), Vec<String>> {
///     sluice_plugin_sdk::check_config(&config, Config::problems)
/// }
/// ```
pub fn check_config<T: DeserializeOwned>(
    config: &str,
    problems: impl FnOnce(&T) -> Vec<String>,
) -> Result<(), Vec<String>> {
    let cfg: T = parse_config(config).map_err(|e| vec![e])?;
    let problems = problems(&cfg);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Parses an RFC 3339 timestamp into seconds since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The value of the leaf at `path` in `fields`, if there is one.
pub fn field<'a>(fields: &'a [types::Field], path: &str) -> Option<&'a types::Value> {
    fields.iter().find(|f| f.path == path).map(|f| &f.value)
}

/// The text of the leaf at `path`, if it is a string.
pub fn text<'a>(fields: &'a [types::Field], path: &str) -> Option<&'a str> {
    match field(fields, path)? {
        types::Value::Text(s) => Some(s),
        _ => None,
    }
}

/// Exports `$plugin`, which implements the world's `Guest` trait, as the plugin of a world
/// (`admission`, `redaction`, `retention` or `disclosure`) in the Wasm build. Native builds
/// (unit tests) link no component exports; there the plugin's methods are only named, so
/// that the plugin and what it calls are not dead code.
///
/// ```ignore
/// sluice_plugin_sdk::export_plugin!(redaction: Plugin);
/// ```
#[macro_export]
macro_rules! export_plugin {
    (admission: $plugin:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::admission::export_admission!($plugin);
        $crate::export_plugin!(@native $plugin, admission::exports::sluice::policy::admit, admit);
    };
    (redaction: $plugin:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::redaction::export_redaction!($plugin);
        $crate::export_plugin!(@native $plugin, redaction::exports::sluice::policy::redact, redact);
    };
    (retention: $plugin:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::retention::export_retention!($plugin);
        $crate::export_plugin!(
            @native $plugin, retention::exports::sluice::policy::retain, schedule
        );
    };
    (disclosure: $plugin:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::disclosure::export_disclosure!($plugin);
        $crate::export_plugin!(
            @native $plugin, disclosure::exports::sluice::policy::disclose, disclose
        );
    };
    (@native $plugin:ident, $($interface:ident)::+, $method:ident) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$plugin as $crate::$($interface)::+::Guest>::check_config;
            let _ = <$plugin as $crate::$($interface)::+::Guest>::$method;
        };
    };
}

/// Functions that give configuration keys their defaults, for `#[serde(default = "...")]`:
/// each `name: Type = value;` is a `fn name() -> Type` that returns `value`.
///
/// ```ignore
/// sluice_plugin_sdk::config_defaults! {
///     default_clause: String = "2.2.2".into();
///     default_fields: Vec<String> = vec!["/mac".into()];
/// }
/// ```
#[macro_export]
macro_rules! config_defaults {
    ($($name:ident: $ty:ty = $value:expr;)*) => {
        $(
            fn $name() -> $ty {
                $value
            }
        )*
    };
}

/// Exports `Plugin`, a redaction or retention plugin (see [`export_plugin!`]) whose
/// configuration is `$config`, parsed once per instance ([`config`]), whose `check-config`
/// lists the configuration's `problems`, and whose answer to a record is
/// `$rule(&config, &record)`: the edits of a redaction plugin, the expiries of a retention
/// plugin.
///
/// ```ignore
/// fn edits(cfg: &Config, record: &RecordData) -> Result<Vec<redact::Edit>, String> { /* ... */ }
/// sluice_plugin_sdk::export_config_rule!(redaction: Config, edits);
/// ```
#[macro_export]
macro_rules! export_config_rule {
    (redaction: $config:ty, $rule:path) => {
        $crate::export_config_rule!(@plugin redaction, redact, redact, Edit, $config, $rule);
    };
    (retention: $config:ty, $rule:path) => {
        $crate::export_config_rule!(@plugin retention, retain, schedule, Expiry, $config, $rule);
    };
    (@plugin $world:ident, $interface:ident, $method:ident, $answer:ident, $config:ty, $rule:path) => {
        struct Plugin;

        impl $crate::$world::exports::sluice::policy::$interface::Guest for Plugin {
            fn check_config(config: String) -> Result<(), Vec<String>> {
                $crate::check_config(&config, <$config>::problems)
            }

            fn $method(
                ctx: $crate::types::Context,
                record: $crate::types::RecordData,
            ) -> Result<Vec<$crate::$world::exports::sluice::policy::$interface::$answer>, String>
            {
                let cfg = $crate::config::<$config>(&ctx.config)?;
                $rule(&cfg, &record)
            }
        }

        $crate::export_plugin!($world: Plugin);
    };
}
