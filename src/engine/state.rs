//! The engine's durable memory: which alert occurrences were acted on, which scale calls are
//! pending, and when each policy last scaled each target.
//!
//! Behind the `StateStore` trait so that a shared store can replace the embedded one; the
//! embedded one is `RedbStore` (one file, every write committed and synced before it returns).
//! Records expire, so the store does not grow without bound. The store never decides anything.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::evaluate::{DedupeKey, ScaleTarget};

/// What the engine knows about one alert occurrence seen by one policy action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceRecord {
    pub state: OccurrenceState,
    /// The last time Alertmanager sent this occurrence (ms since the epoch); records expire a
    /// retention period after it.
    pub last_seen_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OccurrenceState {
    /// A scale call to `to` was decided and not yet confirmed: a re-send applies `to` again,
    /// never a recomputed count.
    Pending {
        target: ScaleTarget,
        from: u32,
        to: u32,
    },
    /// Acted on (or already within bounds): re-sends do nothing.
    Done,
}

/// When a policy last scaled a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CooldownRecord {
    pub at_ms: u64,
    /// When the record stops mattering: the end of the policy's cooldown.
    pub expires_ms: u64,
}

#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot open the state store `{path}`: {message}")]
    Open { path: PathBuf, message: String },
    #[error("state store error: {0}")]
    Store(String),
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StateError {
            fn from(error: $t) -> Self {
                StateError::Store(error.to_string())
            }
        }
    )*};
}
store_error!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error
);

/// The engine's state, wherever it is kept.
pub trait StateStore: Send + Sync + 'static {
    fn occurrence(&self, key: &DedupeKey) -> Result<Option<OccurrenceRecord>, StateError>;
    fn put_occurrence(&self, key: &DedupeKey, record: &OccurrenceRecord) -> Result<(), StateError>;
    fn remove_occurrence(&self, key: &DedupeKey) -> Result<(), StateError>;
    fn last_action(
        &self,
        policy: &str,
        target: &ScaleTarget,
    ) -> Result<Option<CooldownRecord>, StateError>;
    fn put_last_action(
        &self,
        policy: &str,
        target: &ScaleTarget,
        record: CooldownRecord,
    ) -> Result<(), StateError>;
    /// Removes occurrences not seen for `retention_ms` and cooldowns that have ended; returns
    /// how many records went.
    fn expire(&self, now_ms: u64, retention_ms: u64) -> Result<usize, StateError>;
    /// How many occurrence and cooldown records are held.
    fn counts(&self) -> Result<(usize, usize), StateError>;
}

const OCCURRENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("occurrences");
const COOLDOWNS: TableDefinition<&str, &[u8]> = TableDefinition::new("cooldowns");

/// The embedded store: a redb file.
pub struct RedbStore {
    db: Database,
}

fn occurrence_key(key: &DedupeKey) -> String {
    serde_json::to_string(&(
        &key.policy,
        key.action,
        &key.fingerprint,
        &key.starts_at,
        key.status,
    ))
    .expect("keys serialize")
}

fn cooldown_key(policy: &str, target: &ScaleTarget) -> String {
    serde_json::to_string(&(policy, &target.stream, &target.app)).expect("keys serialize")
}

impl RedbStore {
    /// Opens (or creates) the store at `path`, creating its directory.
    pub fn open(path: &Path) -> Result<RedbStore, StateError> {
        let open_error = |message: String| StateError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        }
        let db = Database::create(path).map_err(|e| open_error(e.to_string()))?;
        let txn = db.begin_write().map_err(|e| open_error(e.to_string()))?;
        txn.open_table(OCCURRENCES)
            .map_err(|e| open_error(e.to_string()))?;
        txn.open_table(COOLDOWNS)
            .map_err(|e| open_error(e.to_string()))?;
        txn.commit().map_err(|e| open_error(e.to_string()))?;
        Ok(RedbStore { db })
    }

    fn get<T: for<'de> Deserialize<'de>>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, StateError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        match table.get(key)? {
            Some(value) => Ok(Some(serde_json::from_slice(value.value())?)),
            None => Ok(None),
        }
    }

    fn put<T: Serialize>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(value)?;
        let txn = self.db.begin_write()?;
        txn.open_table(table)?.insert(key, bytes.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

impl StateStore for RedbStore {
    fn occurrence(&self, key: &DedupeKey) -> Result<Option<OccurrenceRecord>, StateError> {
        self.get(OCCURRENCES, &occurrence_key(key))
    }

    fn put_occurrence(&self, key: &DedupeKey, record: &OccurrenceRecord) -> Result<(), StateError> {
        self.put(OCCURRENCES, &occurrence_key(key), record)
    }

    fn remove_occurrence(&self, key: &DedupeKey) -> Result<(), StateError> {
        let txn = self.db.begin_write()?;
        txn.open_table(OCCURRENCES)?
            .remove(occurrence_key(key).as_str())?;
        txn.commit()?;
        Ok(())
    }

    fn last_action(
        &self,
        policy: &str,
        target: &ScaleTarget,
    ) -> Result<Option<CooldownRecord>, StateError> {
        self.get(COOLDOWNS, &cooldown_key(policy, target))
    }

    fn put_last_action(
        &self,
        policy: &str,
        target: &ScaleTarget,
        record: CooldownRecord,
    ) -> Result<(), StateError> {
        self.put(COOLDOWNS, &cooldown_key(policy, target), &record)
    }

    fn expire(&self, now_ms: u64, retention_ms: u64) -> Result<usize, StateError> {
        let txn = self.db.begin_write()?;
        let mut removed = 0;
        {
            let mut table = txn.open_table(OCCURRENCES)?;
            let before = table.len()?;
            table.retain(|_, value| {
                serde_json::from_slice::<OccurrenceRecord>(value)
                    .map(|r| r.last_seen_ms.saturating_add(retention_ms) > now_ms)
                    .unwrap_or(false)
            })?;
            removed += (before - table.len()?) as usize;
            let mut table = txn.open_table(COOLDOWNS)?;
            let before = table.len()?;
            table.retain(|_, value| {
                serde_json::from_slice::<CooldownRecord>(value)
                    .map(|r| r.expires_ms > now_ms)
                    .unwrap_or(false)
            })?;
            removed += (before - table.len()?) as usize;
        }
        txn.commit()?;
        Ok(removed)
    }

    fn counts(&self) -> Result<(usize, usize), StateError> {
        let txn = self.db.begin_read()?;
        let occurrences = txn.open_table(OCCURRENCES)?.len()? as usize;
        let cooldowns = txn.open_table(COOLDOWNS)?.len()? as usize;
        Ok((occurrences, cooldowns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AlertStatus;

    fn key(fingerprint: &str) -> DedupeKey {
        DedupeKey {
            policy: "abc".into(),
            action: 0,
            fingerprint: fingerprint.into(),
            starts_at: "2026-12-04T19:27:33Z".into(),
            status: AlertStatus::Firing,
        }
    }

    #[test]
    fn records_survive_reopening_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.redb");
        let target = ScaleTarget {
            stream: "s".into(),
            app: "a".into(),
        };
        {
            let store = RedbStore::open(&path).unwrap();
            let pending = OccurrenceRecord {
                state: OccurrenceState::Pending {
                    target: target.clone(),
                    from: 1,
                    to: 4,
                },
                last_seen_ms: 1_000,
            };
            store.put_occurrence(&key("a"), &pending).unwrap();
            store
                .put_occurrence(
                    &key("b"),
                    &OccurrenceRecord {
                        state: OccurrenceState::Done,
                        last_seen_ms: 50_000,
                    },
                )
                .unwrap();
            store
                .put_last_action(
                    "abc",
                    &target,
                    CooldownRecord {
                        at_ms: 1_000,
                        expires_ms: 121_000,
                    },
                )
                .unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert!(matches!(
            store.occurrence(&key("a")).unwrap().unwrap().state,
            OccurrenceState::Pending { to: 4, .. }
        ));
        assert_eq!(
            store.last_action("abc", &target).unwrap().unwrap().at_ms,
            1_000
        );
        assert_eq!(store.counts().unwrap(), (2, 1));
        // At 60 s with a 30 s retention: `a` (seen at 1 s) goes, `b` (seen at 50 s) stays; the
        // cooldown (until 121 s) stays.
        assert_eq!(store.expire(60_000, 30_000).unwrap(), 1);
        assert!(store.occurrence(&key("a")).unwrap().is_none());
        assert!(store.occurrence(&key("b")).unwrap().is_some());
        assert_eq!(store.expire(200_000, 30_000).unwrap(), 2);
        assert_eq!(store.counts().unwrap(), (0, 0));
    }
}
