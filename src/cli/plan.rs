//! `alertscale plan`: evaluate a webhook payload against policies offline, with the same
//! evaluator the server uses, and show the decisions.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};

use super::{exit, stderr_color};
use crate::engine::{evaluate, Decision, Limits, MemoryState, Notification, Outcome, ScaleTarget};
use crate::policy::{self, CompileOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Policy files or directories
    #[arg(long, required = true, value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// An Alertmanager webhook payload (version 4); `-` reads standard input
    #[arg(long, value_name = "FILE")]
    pub payload: PathBuf,
    /// A current instance count; unlisted apps have 1
    #[arg(long = "instances", value_name = "STREAM/APP=N", value_parser = parse_instances)]
    pub instances: Vec<(ScaleTarget, u32)>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: PlanFormat,
    /// The server-wide instance cap
    #[arg(long = "scale.max-instances", value_name = "N", default_value_t = policy::DEFAULT_MAX_INSTANCES)]
    pub max_instances: u32,
}

fn parse_instances(text: &str) -> Result<(ScaleTarget, u32), String> {
    let shape = || format!("`{text}` is not STREAM/APP=N, e.g. `scaletest/transform=4`");
    let (target, count) = text.split_once('=').ok_or_else(shape)?;
    let (stream, app) = target.split_once('/').ok_or_else(shape)?;
    let count = count.parse().map_err(|_| shape())?;
    if stream.is_empty() || app.is_empty() {
        return Err(shape());
    }
    Ok((
        ScaleTarget {
            stream: stream.to_string(),
            app: app.to_string(),
        },
        count,
    ))
}

pub fn run(args: PlanArgs) -> u8 {
    let options = CompileOptions {
        max_instances: args.max_instances,
    };
    let (_, checked) = match policy::load(&args.policies, options) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::USAGE;
        }
    };
    if checked.has_errors() {
        let color = stderr_color();
        for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", d.render_human(color));
        }
        eprintln!("error: the policies have errors; fix them first (see `alertscale lint`)");
        return exit::FINDINGS;
    }
    let body = match read_payload(&args.payload) {
        Ok(body) => body,
        Err(error) => {
            eprintln!("error: cannot read `{}`: {error}", args.payload.display());
            return exit::USAGE;
        }
    };
    let notification = match Notification::from_json(&body) {
        Ok(n) => n,
        Err(error) => {
            eprintln!("error: `{}`: {error}", args.payload.display());
            return exit::FINDINGS;
        }
    };
    let mut state = MemoryState::new(1);
    state.counts.extend(args.instances);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let limits = Limits {
        max_instances: args.max_instances,
    };
    let decisions = evaluate(&checked.set, &notification, &mut state, limits, now_ms);
    match args.format {
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&decisions).expect("decisions serialize")
        ),
        PlanFormat::Table => print!("{}", table(&notification, &decisions)),
    }
    exit::OK
}

fn read_payload(path: &PathBuf) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body)?;
        Ok(body)
    } else {
        std::fs::read(path)
    }
}

fn table(notification: &Notification, decisions: &[Decision]) -> String {
    let count = |n: Option<u32>| n.map_or("-".to_string(), |n| n.to_string());
    let mut rows = vec![[
        "POLICY".to_string(),
        "ALERT".to_string(),
        "STATUS".to_string(),
        "TARGET".to_string(),
        "ACTION".to_string(),
        "FROM".to_string(),
        "TO".to_string(),
        "OUTCOME".to_string(),
        "REASON".to_string(),
    ]];
    for d in decisions {
        let outcome = match (d.outcome, d.suppressed_by) {
            (Outcome::Suppressed, Some(by)) => format!("suppressed ({})", by.as_str()),
            (outcome, _) => outcome.as_str().to_string(),
        };
        rows.push([
            d.policy.to_string(),
            d.alert.clone(),
            d.status.as_str().to_string(),
            format!("{}/{}", d.stream, d.app),
            d.action.clone(),
            count(d.from),
            count(d.to),
            outcome,
            d.reason.clone().unwrap_or_default(),
        ]);
    }
    let mut widths = [0; 9];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if decisions.is_empty() {
        out.push_str(&format!(
            "no policy applies to the {} alert(s) of this notification\n",
            notification.alerts.len()
        ));
    } else {
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    let matched: HashSet<&str> = decisions.iter().map(|d| d.fingerprint.as_str()).collect();
    for alert in &notification.alerts {
        if !matched.contains(alert.fingerprint.as_str()) {
            out.push_str(&format!(
                "no policy applies to {} alert `{}` ({})\n",
                alert.status.as_str(),
                alert.name(),
                alert.fingerprint
            ));
        }
    }
    if notification.truncated_alerts > 0 {
        out.push_str(&format!(
            "warning: Alertmanager left out {} alert(s) of this group (max_alerts)\n",
            notification.truncated_alerts
        ));
    }
    out
}
