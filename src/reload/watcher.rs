//! Watching the policy paths for changes (notify), as a Kubernetes ConfigMap volume, an editor
//! or an operator changes them:
//!
//! - a ConfigMap volume: files are symlinks through `..data`, which the kubelet swaps by renaming
//!   a new `..data_tmp` link over it; the directory is watched, not the files;
//! - an editor's write-then-rename, a file deleted and recreated, the whole directory removed and
//!   recreated: each policy path's parent is watched too, and a path whose directory changed
//!   identity is watched anew.
//!
//! A burst of events makes one reload: after an event, the watcher waits until the paths have
//! been quiet for the debounce time (at most `max_delay`). Errors are logged; the watcher keeps
//! going.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::Reloader;

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Quiet time after the last event before reloading.
    pub debounce: Duration,
    /// The longest a stream of events may delay a reload.
    pub max_delay: Duration,
    /// How often to look for a policy path that vanished or was replaced.
    pub recheck: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            recheck: Duration::from_secs(1),
        }
    }
}

/// The watches in place: each policy path (recursive) by the identity of what it was when
/// watched, and each parent (not recursive).
struct Watches {
    watcher: notify::RecommendedWatcher,
    /// Path -> (device, inode) of the watched directory or file.
    watched: HashMap<PathBuf, (u64, u64)>,
    parents: Vec<PathBuf>,
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Watches {
    /// Watches what is not watched yet or changed identity, and the `stale` paths in any case
    /// (a directory removed and created again can get the same inode number back). Returns
    /// whether anything changed.
    fn refresh(&mut self, paths: &[PathBuf], stale: &mut HashSet<PathBuf>) -> bool {
        let mut changed = false;
        for parent in &self.parents {
            // Harmless when already watched; needed after the parent itself came back.
            let _ = self.watcher.watch(parent, RecursiveMode::NonRecursive);
        }
        for path in paths {
            let now = identity(path);
            let before = self.watched.get(path).copied();
            if now == before && !stale.remove(path) {
                continue;
            }
            changed = true;
            tracing::debug!(path = %path.display(), ?before, ?now, "watching anew");
            if before.is_some() {
                let _ = self.watcher.unwatch(path);
                self.watched.remove(path);
            }
            if let Some(id) = now {
                match self.watcher.watch(path, RecursiveMode::Recursive) {
                    Ok(()) => {
                        self.watched.insert(path.clone(), id);
                    }
                    Err(error) => tracing::warn!(path = %path.display(), %error, "cannot watch"),
                }
            }
        }
        changed
    }
}

/// Whether an event can change the policies: anything in a policy path, or a policy path itself
/// appearing, vanishing or being renamed in its parent.
fn relevant(event: &notify::Event, paths: &[PathBuf]) -> bool {
    if matches!(event.kind, EventKind::Access(kind) if kind != notify::event::AccessKind::Close(notify::event::AccessMode::Write))
    {
        return false;
    }
    event.paths.iter().any(|p| {
        paths
            .iter()
            .any(|root| p.starts_with(root) || root.starts_with(p))
    })
}

/// Starts watching the reloader's paths; reloads on changes until the runtime stops.
pub fn spawn_watcher(
    reloader: Arc<Reloader>,
    options: WatchOptions,
) -> Result<tokio::task::JoinHandle<()>, notify::Error> {
    let (tx, rx) = mpsc::unbounded_channel();
    let watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })?;
    let paths: Vec<PathBuf> = reloader
        .paths()
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let mut parents: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    parents.dedup();
    let mut watches = Watches {
        watcher,
        watched: HashMap::new(),
        parents,
    };
    watches.refresh(&paths, &mut HashSet::new());
    Ok(tokio::spawn(watch(reloader, watches, paths, rx, options)))
}

async fn watch(
    reloader: Arc<Reloader>,
    mut watches: Watches,
    paths: Vec<PathBuf>,
    mut events: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
    options: WatchOptions,
) {
    let mut recheck = tokio::time::interval(options.recheck);
    // Policy paths that were themselves created, removed or renamed since the last refresh.
    let mut stale = HashSet::new();
    let note = |event: &notify::Event, stale: &mut HashSet<PathBuf>| -> bool {
        for path in &event.paths {
            if paths.contains(path)
                && !matches!(
                    event.kind,
                    EventKind::Access(_) | EventKind::Modify(notify::event::ModifyKind::Data(_))
                )
            {
                stale.insert(path.clone());
            }
        }
        relevant(event, &paths)
    };
    loop {
        let reload = tokio::select! {
            event = events.recv() => match event {
                None => return,
                Some(Err(error)) => {
                    tracing::warn!(%error, "policy watcher error; still watching");
                    false
                }
                Some(Ok(event)) => {
                    let relevant = note(&event, &mut stale);
                    if relevant {
                        tracing::debug!(kind = ?event.kind, paths = ?event.paths, "policy files changed");
                    }
                    relevant
                }
            },
            _ = recheck.tick() => watches.refresh(&paths, &mut stale),
        };
        if !reload {
            continue;
        }
        // Debounce: wait for quiet, but not forever.
        let started = Instant::now();
        while started.elapsed() < options.max_delay {
            match tokio::time::timeout(options.debounce, events.recv()).await {
                Ok(Some(Ok(event))) => {
                    note(&event, &mut stale);
                }
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, "policy watcher error; still watching")
                }
                Ok(None) => return,
                Err(_quiet) => break,
            }
        }
        // The directory may have been replaced: watch the new one before reloading, so that no
        // change after this reload goes unseen.
        watches.refresh(&paths, &mut stale);
        let _ = reloader.reload_async("watch").await;
    }
}
