//! The complete alert: Falco's text line or JSON document around a rule's rendered output.

use std::sync::Arc;

use super::time::{render_time, TimeStyle};
use super::OutputFormat;
use crate::config::Config;
use crate::fields::{Extractor, FieldId};
use crate::outputs::Alert;
use crate::priority::Priority;

/// The falco.yaml settings that shape an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    pub json_output: bool,
    pub time_format_iso_8601: bool,
    pub json_include_output_property: bool,
    pub json_include_tags_property: bool,
    pub json_include_message_property: bool,
    /// `FALCO_HOSTNAME` or the system's hostname.
    pub hostname: Arc<str>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            json_output: false,
            time_format_iso_8601: false,
            json_include_output_property: true,
            json_include_tags_property: true,
            json_include_message_property: false,
            hostname: Arc::from(crate::outputs::hostname()),
        }
    }
}

impl AlertSettings {
    pub fn from_config(cfg: &Config) -> Self {
        AlertSettings {
            json_output: cfg.json_output,
            time_format_iso_8601: cfg.time_format_iso_8601,
            json_include_output_property: cfg.json_include_output_property,
            json_include_tags_property: cfg.json_include_tags_property,
            json_include_message_property: cfg.json_include_message_property,
            hostname: Arc::from(crate::outputs::hostname()),
        }
    }
}

/// What the formatter needs to know about the rule that matched.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo<'a> {
    pub name: &'a Arc<str>,
    pub priority: Priority,
    pub source: &'a Arc<str>,
    /// Sorted (Falco keeps them in a `std::set`).
    pub tags: &'a Arc<[String]>,
    pub output: &'a OutputFormat,
}

/// Builds [`Alert`]s; keeps its buffers between alerts.
#[derive(Debug)]
pub struct AlertFormatter {
    settings: AlertSettings,
    line: Vec<u8>,
    message: Vec<u8>,
}

impl AlertFormatter {
    pub fn new(settings: AlertSettings) -> Self {
        AlertFormatter {
            settings,
            line: Vec::with_capacity(512),
            message: Vec::with_capacity(512),
        }
    }

    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// The alert for `rule` matching the event at `ts` (nanoseconds) seen through `x`.
    pub fn format(&mut self, ts: u64, rule: RuleInfo<'_>, x: &mut dyn Extractor) -> Alert {
        let s = &self.settings;
        self.message.clear();
        rule.output.render(x, &mut self.message);
        self.line.clear();
        let style = if s.time_format_iso_8601 {
            TimeStyle::Iso8601
        } else {
            TimeStyle::TimeOfDay
        };
        render_time(ts, style, &mut self.line);
        self.line.extend_from_slice(b": ");
        self.line.extend_from_slice(rule.priority.name().as_bytes());
        self.line.push(b' ');
        self.line.extend_from_slice(&self.message);
        let text = String::from_utf8_lossy(&self.line).into_owned();
        let line = if s.json_output {
            let mut doc = serde_json::Map::new();
            doc.insert("hostname".into(), (*s.hostname).into());
            if s.json_include_output_property {
                doc.insert("output".into(), text.into());
            }
            if s.json_include_message_property {
                doc.insert(
                    "message".into(),
                    String::from_utf8_lossy(&self.message).into_owned().into(),
                );
            }
            let mut fields = serde_json::Map::new();
            let time_key = if s.time_format_iso_8601 {
                "evt.time.iso8601"
            } else {
                "evt.time"
            };
            fields.insert(time_key.into(), ts.into());
            rule.output.add_output_fields(x, &mut fields);
            doc.insert("output_fields".into(), fields.into());
            doc.insert("priority".into(), rule.priority.name().into());
            doc.insert("rule".into(), (**rule.name).into());
            doc.insert("source".into(), (**rule.source).into());
            if s.json_include_tags_property {
                doc.insert("tags".into(), rule.tags.iter().cloned().collect());
            }
            let mut time = Vec::with_capacity(32);
            render_time(ts, TimeStyle::Iso8601Z, &mut time);
            doc.insert(
                "time".into(),
                String::from_utf8_lossy(&time).into_owned().into(),
            );
            serde_json::Value::Object(doc).to_string()
        } else {
            text
        };
        let mut alert = Alert::new(
            ts,
            rule.priority,
            Arc::clone(rule.name),
            Arc::clone(rule.source),
            Arc::clone(rule.tags),
            line,
        );
        if rule.output.uses_field(FieldId::K8sNsName) {
            alert.k8s_ns_name = rule.output.field_text(FieldId::K8sNsName, x);
        }
        if rule.output.uses_field(FieldId::K8sPodName) {
            alert.k8s_pod_name = rule.output.field_text(FieldId::K8sPodName, x);
        }
        alert
    }
}
