//! The policy pipeline: a record's way through its kind's plugin chain.
//!
//! Writes: schema check, then each plugin of the kind's chain in bundle order (admission may
//! reject; redaction edits the fields the next plugin sees; retention schedules deletions;
//! forwarders compute deliveries). Reads: the kind's disclosure plugins narrow what the
//! audience sees. Every decision names its clause. Any plugin failure fails the request.

use std::collections::HashMap;
use std::time::Instant as Clock;

use serde_json::Value;

use crate::bundle::{Kind, Policy, Step, schema};
use crate::metrics::Metrics;
use crate::record::{self, Action, Decision, Delivery, Expiry, PluginRef, StoredRecord};
use crate::runtime::convert::{flatten, from_wit, unflatten};
use crate::runtime::generated::types::{Context, RecordData};
use crate::runtime::instance_types::{Audience, Change};
use crate::runtime::{Instance, PluginFailure, Runtime, World};

/// A record on its way in.
#[derive(Debug, Clone)]
pub struct WriteInput {
    /// The record id (new or existing).
    pub id: String,
    /// The owning tenant.
    pub tenant: String,
    /// The kind.
    pub kind: String,
    /// The data subject's key.
    pub subject: String,
    /// The fields as the service sent them (merged with the stored ones for an update).
    pub fields: Value,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
}

impl WriteInput {
    /// The input of a new revision of `stored` with `fields` (`Value::Null` when only the
    /// header matters: a deletion, a schedule, a disclosure), written at `updated_at`.
    pub fn revision_of(stored: &StoredRecord, fields: Value, updated_at: i64) -> Self {
        Self {
            id: stored.id.clone(),
            tenant: stored.tenant.clone(),
            kind: stored.kind.clone(),
            subject: stored.subject.clone(),
            fields,
            created_at: stored.created_at,
            updated_at,
        }
    }

    /// The record this input writes, as audit entries name it.
    pub fn about(&self) -> record::About<'_> {
        record::About {
            tenant: &self.tenant,
            id: &self.id,
            kind: &self.kind,
            subject: &self.subject,
        }
    }
}

/// The result of the write chain for an accepted record.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The fields to store.
    pub fields: Value,
    /// Every decision, in order.
    pub decisions: Vec<Decision>,
    /// Deletions to schedule.
    pub expiries: Vec<Expiry>,
    /// Deliveries computed.
    pub deliveries: Vec<Delivery>,
    /// The plugins that ran.
    pub plugins: Vec<PluginRef>,
    /// The earliest deadline each field of the record was given (see
    /// `StoredRecord::deadlines`): every expiry scheduled, and every one already past.
    pub deadlines: Vec<Expiry>,
}

/// A record the policy refused.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The rejecting decision (action `reject`).
    pub decision: Decision,
    /// For an update: delete the stored record as well.
    pub erase: bool,
    /// Decisions taken before the rejection (for the audit log).
    pub decisions: Vec<Decision>,
}

/// What the write chain made of a record.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Store it.
    Accepted(Accepted),
    /// Refuse it.
    Rejected(Rejected),
}

/// Why a record could not be processed at all.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PipelineError {
    /// The bundle has no such kind.
    #[error("unknown record kind `{kind}` (known kinds: {known})")]
    UnknownKind {
        /// The kind asked for.
        kind: String,
        /// The bundle's kinds.
        known: String,
    },
    /// The fields do not match the kind's schema.
    #[error("{}", problems[0].message)]
    Schema {
        /// The kind's clause.
        clause: Option<String>,
        /// Every problem.
        problems: Vec<schema::Problem>,
    },
    /// A plugin trapped, timed out, ran out of memory or failed.
    #[error(transparent)]
    Plugin(#[from] PluginFailure),
    /// A plugin returned something the host cannot apply (e.g. an edit of a missing field).
    #[error("plugin `{plugin}` broke the plugin contract: {message}")]
    Contract {
        /// The plugin.
        plugin: String,
        /// What it did wrong.
        message: String,
    },
}

/// The instances created for one request, one per plugin, reused across the records of a
/// batch and dropped with the request.
pub struct Instances<'a> {
    runtime: &'a Runtime,
    live: HashMap<&'a str, Instance<'a>>,
}

impl<'a> Instances<'a> {
    /// An empty set for one request.
    pub fn new(runtime: &'a Runtime) -> Self {
        Self {
            runtime,
            live: HashMap::new(),
        }
    }

    fn get(&mut self, step: &'a Step) -> Result<&mut Instance<'a>, PluginFailure> {
        let name = step.plugin.name.as_str();
        if !self.live.contains_key(name) {
            let instance = step.plugin.instantiate(self.runtime)?;
            self.live.insert(name, instance);
        }
        Ok(self.live.get_mut(name).expect("inserted above"))
    }
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn context(policy: &Policy, step: &Step, now: i64) -> Context {
    Context {
        now,
        config: step.config.to_string(),
        bundle: policy.id.clone(),
    }
}

fn record_data(input: &WriteInput, fields: &Value) -> RecordData {
    RecordData {
        id: input.id.clone(),
        tenant: input.tenant.clone(),
        kind: input.kind.clone(),
        subject: input.subject.clone(),
        fields: flatten(fields),
        created_at: secs(input.created_at),
        updated_at: secs(input.updated_at),
    }
}

/// Looks up a kind of the policy.
pub fn kind<'p>(policy: &'p Policy, name: &str) -> Result<&'p Kind, PipelineError> {
    policy.kinds.get(name).ok_or_else(|| {
        let mut known: Vec<&str> = policy.kinds.keys().map(String::as_str).collect();
        known.sort_unstable();
        PipelineError::UnknownKind {
            kind: name.to_string(),
            known: known.join(", "),
        }
    })
}

/// Runs the write chain of `input.kind` over one record. `now` is seconds since the epoch.
pub fn write<'a>(
    policy: &'a Policy,
    input: &WriteInput,
    now: i64,
    instances: &mut Instances<'a>,
    metrics: &Metrics,
) -> Result<Outcome, PipelineError> {
    let kind = kind(policy, &input.kind)?;
    let problems = schema::check(&kind.fields, kind.extra_fields, &input.fields);
    if !problems.is_empty() {
        return Err(PipelineError::Schema {
            clause: kind.clause.clone(),
            problems,
        });
    }
    let mut fields = input.fields.clone();
    let mut data = record_data(input, &fields);
    let mut out = Accepted {
        fields: Value::Null,
        decisions: Vec::new(),
        expiries: Vec::new(),
        deliveries: Vec::new(),
        plugins: Vec::with_capacity(kind.chain.len()),
        deadlines: Vec::new(),
    };
    for step in &kind.chain {
        let plugin = step.plugin.name.as_str();
        let ctx = context(policy, step, now);
        let contract = |message: String| PipelineError::Contract {
            plugin: plugin.to_string(),
            message,
        };
        let started = Clock::now();
        let instance = instances.get(step)?;
        match step.plugin.world {
            World::Admission => match instance.admit(&ctx, &data)? {
                Ok(notes) => out.decisions.extend(notes.into_iter().map(|n| Decision {
                    plugin: plugin.to_string(),
                    action: Action::Admit,
                    path: n.path.map(record::without_cards),
                    clause: n.clause,
                    reason: n.reason,
                })),
                Err(r) => {
                    metrics.plugin_call(plugin, started.elapsed());
                    return Ok(Outcome::Rejected(Rejected {
                        decision: Decision {
                            plugin: plugin.to_string(),
                            action: Action::Reject,
                            path: r.path.map(record::without_cards),
                            clause: r.clause,
                            reason: r.reason,
                        },
                        erase: r.erase,
                        decisions: out.decisions,
                    }));
                }
            },
            World::Redaction => {
                let edits = instance.redact(&ctx, &data)?;
                if !edits.is_empty() {
                    // Replacements first, in the order given; then the removals, each of
                    // the path as the record had it (removing one element of an array never
                    // moves another one still to remove; see `record::remove_all`).
                    let mut removals: Vec<&str> = Vec::new();
                    for edit in &edits {
                        let applied = match &edit.change {
                            Change::Redact(v) | Change::Normalise(v) => {
                                record::replace_at(&mut fields, &edit.path, from_wit(v))
                            }
                            Change::Remove => {
                                removals.push(&edit.path);
                                fields.pointer(&edit.path).is_some()
                            }
                        };
                        if !applied || edit.path.is_empty() {
                            return Err(contract(format!(
                                "it edited `{}`, which is not a field of the record",
                                edit.path
                            )));
                        }
                    }
                    record::remove_all(&mut fields, &removals);
                    for edit in edits {
                        let action = match edit.change {
                            Change::Redact(_) => Action::Redact,
                            Change::Normalise(_) => Action::Normalise,
                            Change::Remove => Action::Remove,
                        };
                        out.decisions.push(Decision {
                            plugin: plugin.to_string(),
                            action,
                            path: Some(record::without_cards(edit.path)),
                            clause: edit.clause,
                            reason: edit.reason,
                        });
                    }
                    data.fields = flatten(&fields);
                }
            }
            World::Retention => {
                let mut overdue = false;
                for e in instance.schedule(&ctx, &data)? {
                    let path = e.path.unwrap_or_default();
                    if !path.is_empty() && fields.pointer(&path).is_none() {
                        // Already deleted at this write, as overdue under an earlier rule.
                        if out
                            .decisions
                            .iter()
                            .any(|d| d.action == Action::Delete && d.path.as_deref() == Some(&path))
                        {
                            continue;
                        }
                        return Err(contract(format!(
                            "it scheduled `{path}`, which is not a field of the record"
                        )));
                    }
                    if e.due <= now {
                        // Past its retention already: never stored, never forwarded.
                        let due = crate::clock::rfc3339_secs(e.due);
                        if path.is_empty() {
                            metrics.plugin_call(plugin, started.elapsed());
                            return Ok(Outcome::Rejected(Rejected {
                                decision: Decision {
                                    plugin: plugin.to_string(),
                                    action: Action::Reject,
                                    path: None,
                                    clause: e.clause,
                                    reason: format!(
                                        "the record is past its retention period ({}, due \
                                         {due}): it is not kept",
                                        e.reason
                                    ),
                                },
                                erase: true,
                                decisions: out.decisions,
                            }));
                        }
                        let removed = fields.pointer(&path).cloned().unwrap_or(Value::Null);
                        record::remove_at(&mut fields, &path);
                        crate::outbox::scrub(&mut fields, "", &removed);
                        record::hold_deadline(
                            &mut out.deadlines,
                            &Expiry {
                                path: path.clone(),
                                due: e.due,
                                clause: e.clause.clone(),
                                reason: e.reason.clone(),
                                plugin: plugin.to_string(),
                            },
                        );
                        out.decisions.push(Decision {
                            plugin: plugin.to_string(),
                            action: Action::Delete,
                            path: Some(path),
                            clause: e.clause,
                            reason: format!("{} (due {due}, already past: not stored)", e.reason),
                        });
                        overdue = true;
                        continue;
                    }
                    out.decisions.push(Decision {
                        plugin: plugin.to_string(),
                        action: Action::ScheduleDeletion,
                        path: (!path.is_empty()).then(|| path.clone()),
                        clause: e.clause.clone(),
                        reason: format!("{} (due {})", e.reason, crate::clock::rfc3339_secs(e.due)),
                    });
                    out.expiries.push(Expiry {
                        path,
                        due: e.due,
                        clause: e.clause,
                        reason: e.reason,
                        plugin: plugin.to_string(),
                    });
                }
                if overdue {
                    // Expiries below a field deleted now have nothing left to delete.
                    let gone: Vec<String> = out
                        .decisions
                        .iter()
                        .filter(|d| d.action == Action::Delete)
                        .filter_map(|d| d.path.clone())
                        .collect();
                    out.expiries.retain(|x| {
                        x.path.is_empty() || !gone.iter().any(|g| record::is_within(&x.path, g))
                    });
                    data.fields = flatten(&fields);
                }
            }
            World::Forwarder => {
                for d in instance.forward(&ctx, &data)? {
                    out.decisions.push(Decision {
                        plugin: plugin.to_string(),
                        action: Action::Forward,
                        path: None,
                        clause: d.clause.clone(),
                        reason: format!("{} ({} {})", d.reason, d.vendor, d.endpoint),
                    });
                    out.deliveries.push(Delivery {
                        plugin: plugin.to_string(),
                        vendor: d.vendor,
                        endpoint: d.endpoint,
                        payload: unflatten(&d.payload, &fields),
                        clause: d.clause,
                        reason: d.reason,
                    });
                }
            }
            World::Disclosure => {
                return Err(contract("a disclosure plugin cannot run on writes".into()));
            }
        }
        metrics.plugin_call(plugin, started.elapsed());
        out.plugins.push(PluginRef {
            name: plugin.to_string(),
            digest: step.plugin.digest.clone(),
        });
    }
    out.fields = fields;
    for e in &out.expiries {
        record::hold_deadline(&mut out.deadlines, e);
    }
    Ok(Outcome::Accepted(out))
}

/// Holds a rectified record to the deadlines its fields were ever given (a rectification
/// may shorten retention, never lengthen or cancel it): for each field of `old`'s
/// `deadlines` and expiries (and the whole record), the new schedule keeps the earlier due
/// time, or gains it when it schedules nothing for a field still present. A field whose
/// deadline is already past is deleted now, with its copies in the record and in the
/// deliveries just computed, and the decision says so. `now` in seconds.
pub fn hold_to_deadlines(old: &StoredRecord, a: &mut Accepted, now: i64) {
    for e in old.deadlines.iter().chain(&old.expiries) {
        record::hold_deadline(&mut a.deadlines, e);
    }
    for floor in a.deadlines.clone() {
        if !floor.path.is_empty() && a.fields.pointer(&floor.path).is_none() {
            continue;
        }
        match a.expiries.iter_mut().find(|e| e.path == floor.path) {
            Some(e) if e.due > floor.due => *e = floor.clone(),
            Some(_) => {}
            None => a.expiries.push(floor.clone()),
        }
    }
    let overdue: Vec<Expiry> = a
        .expiries
        .iter()
        .filter(|e| e.due <= now && !e.path.is_empty())
        .cloned()
        .collect();
    for e in overdue {
        let Some(removed) = a.fields.pointer(&e.path).cloned() else {
            continue;
        };
        record::remove_at(&mut a.fields, &e.path);
        crate::outbox::scrub(&mut a.fields, "", &removed);
        for d in &mut a.deliveries {
            crate::outbox::scrub(&mut d.payload, &e.path, &removed);
        }
        a.expiries
            .retain(|x| x.path.is_empty() || !record::is_within(&x.path, &e.path));
        a.decisions.push(Decision {
            plugin: e.plugin.clone(),
            action: Action::Delete,
            path: Some(e.path.clone()),
            clause: e.clause.clone(),
            reason: format!(
                "{} (due {}, already past: not kept)",
                e.reason,
                crate::clock::rfc3339_secs(e.due)
            ),
        });
    }
}

/// Who reads a record, and why.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// `internal` or `subprocessor:ID`.
    pub audience: String,
    /// The purpose, one of the bundle's purposes.
    pub purpose: String,
}

/// The audience of a read by the calling service itself.
pub const INTERNAL: &str = "internal";

/// What an audience may see of a record, or the refusal.
#[derive(Debug, Clone)]
pub enum Disclosure {
    /// The projection, and the decisions that permitted it.
    Permitted {
        /// The fields the audience may see.
        fields: Value,
        /// The disclosure decisions.
        decisions: Vec<Decision>,
    },
    /// The refusal.
    Refused(Decision),
}

/// Runs the read chain of the record's kind for `request`.
pub fn read<'a>(
    policy: &'a Policy,
    stored: &StoredRecord,
    request: &ReadRequest,
    now: i64,
    instances: &mut Instances<'a>,
    metrics: &Metrics,
) -> Result<Disclosure, PipelineError> {
    let steps: &[Step] = policy.kinds.get(&stored.kind).map_or(&[], |k| &k.read);
    if steps.is_empty() {
        // Without disclosure rules only the calling service itself reads (fail closed).
        if request.audience == INTERNAL {
            return Ok(Disclosure::Permitted {
                fields: stored.fields.clone(),
                decisions: Vec::new(),
            });
        }
        return Ok(Disclosure::Refused(Decision {
            plugin: "gateway".into(),
            action: Action::Refuse,
            path: None,
            clause: crate::clause::DISCLOSURE.into(),
            reason: format!(
                "no disclosure rule of the bundle covers `{}` records for audience `{}`",
                stored.kind, request.audience
            ),
        }));
    }
    let input = WriteInput::revision_of(stored, Value::Null, stored.updated_at);
    let mut fields = stored.fields.clone();
    let mut data = record_data(&input, &fields);
    let audience = Audience {
        name: request.audience.clone(),
        purpose: request.purpose.clone(),
    };
    let mut decisions = Vec::new();
    for step in steps {
        let plugin = step.plugin.name.as_str();
        let ctx = context(policy, step, now);
        let started = Clock::now();
        let verdict = instances.get(step)?.disclose(&ctx, &data, &audience)?;
        metrics.plugin_call(plugin, started.elapsed());
        match verdict {
            Ok(p) => {
                fields = record::project(&fields, &p.paths);
                data.fields = flatten(&fields);
                decisions.push(Decision {
                    plugin: plugin.to_string(),
                    action: Action::Disclose,
                    path: None,
                    clause: p.clause,
                    reason: p.reason,
                });
            }
            Err(n) => {
                return Ok(Disclosure::Refused(Decision {
                    plugin: plugin.to_string(),
                    action: Action::Refuse,
                    path: n.path,
                    clause: n.clause,
                    reason: n.reason,
                }));
            }
        }
    }
    Ok(Disclosure::Permitted { fields, decisions })
}

/// Runs only the retention steps of a stored record's kind: the schedule the policy gives
/// the record as it is now (used when a policy change alters retention). A kind the policy
/// no longer has keeps no schedule of this policy's: the result is empty.
pub fn schedule<'a>(
    policy: &'a Policy,
    stored: &StoredRecord,
    now: i64,
    instances: &mut Instances<'a>,
    metrics: &Metrics,
) -> Result<Vec<Expiry>, PipelineError> {
    let Some(kind) = policy.kinds.get(&stored.kind) else {
        return Ok(Vec::new());
    };
    let input = WriteInput::revision_of(stored, Value::Null, stored.updated_at);
    let data = record_data(&input, &stored.fields);
    let mut expiries = Vec::new();
    for step in kind
        .chain
        .iter()
        .filter(|s| s.plugin.world == World::Retention)
    {
        let plugin = step.plugin.name.as_str();
        let ctx = context(policy, step, now);
        let started = Clock::now();
        for e in instances.get(step)?.schedule(&ctx, &data)? {
            let path = e.path.unwrap_or_default();
            if !path.is_empty() && stored.fields.pointer(&path).is_none() {
                // The field is gone already (deleted earlier); nothing to schedule.
                continue;
            }
            expiries.push(Expiry {
                path,
                due: e.due,
                clause: e.clause,
                reason: e.reason,
                plugin: plugin.to_string(),
            });
        }
        metrics.plugin_call(plugin, started.elapsed());
    }
    Ok(expiries)
}
